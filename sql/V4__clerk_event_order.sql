-- Clerk's webhooks arrive in any order (Svix retries each delivery on its own
-- schedule), so each user remembers the time of the last Clerk event applied to
-- it, and a deleted user leaves a tombstone: a late `user.updated` must neither
-- overwrite a newer profile nor bring a deleted user (and their Stripe objects)
-- back.
ALTER TABLE users ADD COLUMN clerk_event_at timestamptz;

CREATE TABLE deleted_users (
    clerk_user_id  text COLLATE "C" PRIMARY KEY
        CHECK (clerk_user_id ~ '^[A-Za-z0-9_-]{1,255}$'),
    deleted_at     timestamptz NOT NULL
);
