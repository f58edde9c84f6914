-- The user directory's transactional outbox (docs/user-directory.md).
--
-- Every change to a user's public view (id, username, first and last name) and
-- every deletion leaves a row here *in the same transaction as the change*:
-- the triggers below run inside the statement that wrote `users`, so a write
-- that rolls back leaves no event, and one that commits cannot lose its event
-- whatever process dies afterwards. `user-worker` relays the rows to the
-- compacted `user_directory` topic in id order and deletes what the broker
-- acknowledged (src/directory).
--
-- Triggers rather than an INSERT beside each write: every path that changes a
-- profile — profile syncs and their group-commit batches, temporary users,
-- Clerk's webhooks, the legacy import, and any path added later — is covered
-- without being named, and the batched writes stay one statement each.
--
-- `id` is the event's `version`. It is strictly increasing per user in commit
-- order: two writes of one user serialise on its row (or its primary key), so
-- the later one takes its id after the earlier one has committed.
CREATE TABLE user_directory_outbox (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    clerk_user_id  text COLLATE "C" NOT NULL,
    -- All four NULL for a deletion (the topic's tombstone).
    username       text,
    first_name     text,
    last_name      text,
    updated_at     timestamptz,
    deleted        boolean NOT NULL,
    -- When the event was written: the relay's lag is measured from here.
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (deleted = (first_name IS NULL))
);

CREATE FUNCTION user_directory_enqueue() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO user_directory_outbox (clerk_user_id, deleted)
        VALUES (OLD.clerk_user_id, true);
    ELSE
        INSERT INTO user_directory_outbox
            (clerk_user_id, username, first_name, last_name, updated_at, deleted)
        VALUES (NEW.clerk_user_id, NEW.username, NEW.first_name, NEW.last_name,
                NEW.updated_at, false);
    END IF;
    RETURN NULL;
END
$$;

-- Row triggers: the WHEN condition is evaluated without calling the function,
-- so the writes that do not touch the public view (ratings, cards, Stripe ids,
-- a sync that changes nothing visible) cost next to nothing. (Statement
-- triggers with transition tables cannot be limited to columns.)
CREATE TRIGGER user_directory_insert AFTER INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION user_directory_enqueue();
CREATE TRIGGER user_directory_update AFTER UPDATE ON users
    FOR EACH ROW
    WHEN ((OLD.username, OLD.first_name, OLD.last_name)
          IS DISTINCT FROM (NEW.username, NEW.first_name, NEW.last_name))
    EXECUTE FUNCTION user_directory_enqueue();
CREATE TRIGGER user_directory_delete AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION user_directory_enqueue();
