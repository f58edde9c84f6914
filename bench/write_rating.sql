\set n random(1, 10000)
UPDATE users SET customer_rating = random() * 5, updated_at = now() WHERE clerk_user_id = 'u' || :n;
