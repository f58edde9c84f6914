-- Idempotency bookkeeping for creating a user's Stripe customer and Connect account.
--
-- The key of a creation is stored on the row *before* Stripe is called, so a
-- retried request, a crash between Stripe's answer and our UPDATE, or two
-- concurrent syncs all send the same key and Stripe replays the first result.
--
-- Stripe keeps a key's first result for 24 hours, a 500 included. After an
-- attempt that ended indeterminately (5xx, timeout) the key is released and
-- `*_uncertain` set: the next attempt first looks for an object the failed one
-- may have created (customers: by email and metadata.clerk_user_id) and adopts
-- it, and only otherwise creates with a fresh key. Connect accounts cannot be
-- searched by metadata, so for them that step is skipped (see README).
ALTER TABLE users
    ADD COLUMN stripe_customer_idem_key text
        CHECK (stripe_customer_idem_key IS NULL OR char_length(stripe_customer_idem_key) BETWEEN 1 AND 255),
    ADD COLUMN stripe_customer_uncertain boolean NOT NULL DEFAULT false,
    ADD COLUMN stripe_account_idem_key text
        CHECK (stripe_account_idem_key IS NULL OR char_length(stripe_account_idem_key) BETWEEN 1 AND 255),
    ADD COLUMN stripe_account_uncertain boolean NOT NULL DEFAULT false;
