\set n random(1, 10000)
SELECT clerk_user_id, username, email, first_name, last_name, phone_number, customer_rating, runner_rating, stripe_customer_id, stripe_connect_account_id, created_at, updated_at, card_payment_method_id, card_brand, card_last4, card_exp_month, card_exp_year, card_updated_at FROM users WHERE clerk_user_id = 'u' || :n;
