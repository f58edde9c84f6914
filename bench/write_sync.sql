\set n random(1, 10000)
INSERT INTO users (clerk_user_id, email, first_name, last_name, phone_number, username)
VALUES ('u' || :n, 'u' || :n || '@example.com', 'F' || :n, 'Last' || :n, NULL, NULL)
ON CONFLICT (clerk_user_id) DO UPDATE SET email = EXCLUDED.email,
  first_name = COALESCE(EXCLUDED.first_name, users.first_name),
  last_name = COALESCE(EXCLUDED.last_name, users.last_name), updated_at = now()
RETURNING clerk_user_id, username, email, first_name, last_name, phone_number, customer_rating,
  runner_rating, stripe_customer_id, stripe_connect_account_id, created_at, updated_at,
  card_payment_method_id, card_brand, card_last4, card_exp_month, card_exp_year, card_updated_at,
  (xmax = 0) AS inserted;
