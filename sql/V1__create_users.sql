-- Users of the marketplace (customers and runners share one row).
--
-- The stored card is kept in typed columns rather than a JSONB document: each
-- field gets its own CHECK, reads need no JSON decoding on the hot path, and the
-- "all or nothing" rule below is one constraint. The original's JSON blob had no
-- shape guarantee at all.
--
-- Length limits here match the domain types in src/domain, so a value that passed
-- parsing can never fail a CHECK; the CHECKs are the last line of defence.
CREATE TABLE users (
    -- COLLATE "C": ids are ASCII, and byte order makes list-users' order and its
    -- cursor comparisons identical on every server, whatever its locale.
    clerk_user_id              text COLLATE "C" PRIMARY KEY
        CHECK (clerk_user_id ~ '^[A-Za-z0-9_-]{1,255}$'),
    username                   text
        CHECK (username IS NULL OR char_length(username) BETWEEN 1 AND 100),
    email                      text NOT NULL
        CHECK (char_length(email) BETWEEN 3 AND 255 AND position('@' IN email) > 1),
    first_name                 text NOT NULL DEFAULT ''
        CHECK (char_length(first_name) <= 100),
    last_name                  text NOT NULL DEFAULT ''
        CHECK (char_length(last_name) <= 100),
    phone_number               text
        CHECK (phone_number IS NULL OR char_length(phone_number) BETWEEN 1 AND 20),
    customer_rating            double precision NOT NULL DEFAULT 5.0
        CHECK (customer_rating BETWEEN 0 AND 5),
    runner_rating              double precision NOT NULL DEFAULT 5.0
        CHECK (runner_rating BETWEEN 0 AND 5),
    stripe_customer_id         text
        CHECK (stripe_customer_id IS NULL OR char_length(stripe_customer_id) BETWEEN 1 AND 255),
    stripe_connect_account_id  text
        CHECK (stripe_connect_account_id IS NULL OR char_length(stripe_connect_account_id) BETWEEN 1 AND 255),
    card_payment_method_id     text
        CHECK (card_payment_method_id IS NULL OR char_length(card_payment_method_id) BETWEEN 4 AND 255),
    card_brand                 text
        CHECK (card_brand IS NULL OR char_length(card_brand) BETWEEN 1 AND 32),
    card_last4                 text
        CHECK (card_last4 IS NULL OR card_last4 ~ '^[0-9]{4}$'),
    card_exp_month             smallint
        CHECK (card_exp_month IS NULL OR card_exp_month BETWEEN 1 AND 12),
    card_exp_year              smallint
        CHECK (card_exp_year IS NULL OR card_exp_year BETWEEN 2000 AND 9999),
    card_updated_at            timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    -- A card is stored whole or not at all.
    CONSTRAINT users_card_complete CHECK (
        num_nulls(card_payment_method_id, card_brand, card_last4,
                  card_exp_month, card_exp_year, card_updated_at) IN (0, 6)
    )
);

-- Case-insensitive uniqueness; the names are what src/db maps to 409 answers.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username)) WHERE username IS NOT NULL;
