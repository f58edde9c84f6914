//! Every SQL statement of the repository: constant strings with bind
//! parameters (never built from user data) and the type of each parameter
//! (see `db/sql.rs` for why they are declared).

use tokio_postgres::types::Type;

pub(in crate::db) use crate::db::sql::Sql;

/// The SET list that forgets a stored card (the six columns are all or none).
macro_rules! no_card {
    () => {
        "card_payment_method_id = NULL, card_brand = NULL, card_last4 = NULL, \
         card_exp_month = NULL, card_exp_year = NULL, card_updated_at = NULL"
    };
}

/// The column list every user-returning statement selects, in `user_from_row` order.
macro_rules! user_columns {
    () => {
        "clerk_user_id, username, email, first_name, last_name, phone_number, \
         customer_rating, runner_rating, stripe_customer_id, stripe_connect_account_id, \
         created_at, updated_at, card_payment_method_id, card_brand, card_last4, \
         card_exp_month, card_exp_year, card_updated_at"
    };
}

// Many users by id in one round trip: concurrent `GET /user/{id}`s share it
// (`db/read_batch.rs`).
pub(super) const SELECT_USERS: Sql = Sql::new(
    concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE clerk_user_id = ANY($1)"
    ),
    &[Type::TEXT_ARRAY],
);

pub(super) const INSERT_TEMP_USER: Sql = Sql::new(
    concat!(
        "INSERT INTO users (clerk_user_id, email, first_name, last_name, phone_number, username) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        user_columns!()
    ),
    &[
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
    ],
);

// One statement for "create or update": concurrent first syncs of one user serialise
// on the primary key, so exactly one inserts and the other updates. `xmax = 0` is
// true only for a freshly inserted row version. Card and Stripe columns are not
// touched: a profile sync never changes payment data. A user deleted in Clerk
// (a tombstone) is not created again: no row comes back. The email only
// matters for a creation; an update without one (`$2` null) keeps the stored.
pub(super) const UPSERT_PROFILE: Sql = Sql::new(
    concat!(
        "INSERT INTO users (clerk_user_id, email, first_name, last_name, phone_number, username) \
     SELECT $1, e.email, COALESCE($3, ''), COALESCE($4, ''), $6, $8 \
     FROM (SELECT COALESCE($2, (SELECT email FROM users WHERE clerk_user_id = $1)) AS email) e \
     WHERE e.email IS NOT NULL \
       AND NOT EXISTS (SELECT 1 FROM deleted_users WHERE clerk_user_id = $1) \
     ON CONFLICT (clerk_user_id) DO UPDATE SET \
       email = COALESCE($2, users.email), \
       first_name = COALESCE($3, users.first_name), \
       last_name = COALESCE($4, users.last_name), \
       phone_number = CASE WHEN $5 THEN $6 ELSE users.phone_number END, \
       username = CASE WHEN $7 THEN $8 ELSE users.username END, \
       updated_at = now() \
     RETURNING ",
        user_columns!(),
        ", (xmax = 0) AS inserted"
    ),
    &[
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::BOOL,
        Type::TEXT,
        Type::BOOL,
        Type::TEXT,
    ],
);

pub(super) const IS_DELETED: Sql = Sql::new(
    "SELECT EXISTS (SELECT 1 FROM deleted_users WHERE clerk_user_id = $1)",
    &[Type::TEXT],
);

pub(super) const SET_CUSTOMER_RATING: Sql = Sql::new(
    "UPDATE users SET customer_rating = $2, updated_at = now() WHERE clerk_user_id = $1",
    &[Type::TEXT, Type::FLOAT8],
);
pub(super) const SET_RUNNER_RATING: Sql = Sql::new(
    "UPDATE users SET runner_rating = $2, updated_at = now() WHERE clerk_user_id = $1",
    &[Type::TEXT, Type::FLOAT8],
);
// The batched forms (`db/batch.rs`): many users' writes in one statement. The
// source columns are named apart from the table's so RETURNING stays unambiguous.
pub(super) const SET_CUSTOMER_RATINGS: Sql = Sql::new(
    "UPDATE users SET customer_rating = v.rating, updated_at = now() \
     FROM unnest($1::text[], $2::float8[]) AS v(id, rating) WHERE clerk_user_id = v.id \
     RETURNING clerk_user_id",
    &[Type::TEXT_ARRAY, Type::FLOAT8_ARRAY],
);
pub(super) const SET_RUNNER_RATINGS: Sql = Sql::new(
    "UPDATE users SET runner_rating = v.rating, updated_at = now() \
     FROM unnest($1::text[], $2::float8[]) AS v(id, rating) WHERE clerk_user_id = v.id \
     RETURNING clerk_user_id",
    &[Type::TEXT_ARRAY, Type::FLOAT8_ARRAY],
);
// The update branch of UPSERT_PROFILE for existing users; a user it does not
// return does not exist yet and goes through UPSERT_PROFILE on its own.
pub(super) const UPDATE_PROFILES: Sql = Sql::new(
    concat!(
        "UPDATE users SET \
       email = COALESCE(v.new_email, email), \
       first_name = COALESCE(v.new_first, first_name), \
       last_name = COALESCE(v.new_last, last_name), \
       phone_number = CASE WHEN v.phone_set THEN v.new_phone ELSE phone_number END, \
       username = CASE WHEN v.username_set THEN v.new_username ELSE username END, \
       updated_at = now() \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::text[], \
       $7::bool[], $8::text[]) \
       AS v(id, new_email, new_first, new_last, phone_set, new_phone, username_set, new_username) \
     WHERE clerk_user_id = v.id \
     RETURNING ",
        user_columns!()
    ),
    &[
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::BOOL_ARRAY,
        Type::TEXT_ARRAY,
        Type::BOOL_ARRAY,
        Type::TEXT_ARRAY,
    ],
);
pub(super) const SET_CONNECT_ACCOUNT: Sql = Sql::new(
    "UPDATE users SET stripe_connect_account_id = $2, updated_at = now() \
     WHERE clerk_user_id = $1",
    &[Type::TEXT, Type::TEXT],
);
// First stored id wins (COALESCE), so concurrent provisioning cannot overwrite.
pub(super) const SET_STRIPE_IDS: Sql = Sql::new(
    "UPDATE users SET \
       stripe_customer_id = COALESCE(stripe_customer_id, $2), \
       stripe_connect_account_id = COALESCE(stripe_connect_account_id, $3), \
       updated_at = now() \
     WHERE clerk_user_id = $1 \
     RETURNING stripe_customer_id, stripe_connect_account_id",
    &[Type::TEXT, Type::TEXT, Type::TEXT],
);
// Idempotency keys (see sql/V2): claim keeps an existing key, else takes $2, or
// $3 (a fresh one) after an indeterminate attempt; release marks that attempt.
pub(super) const CLAIM_CUSTOMER_KEY: Sql = Sql::new(
    "UPDATE users SET stripe_customer_idem_key = \
       COALESCE(stripe_customer_idem_key, CASE WHEN stripe_customer_uncertain THEN $3 ELSE $2 END) \
     WHERE clerk_user_id = $1 RETURNING stripe_customer_idem_key, stripe_customer_uncertain",
    &[Type::TEXT, Type::TEXT, Type::TEXT],
);
pub(super) const CLAIM_ACCOUNT_KEY: Sql = Sql::new(
    "UPDATE users SET stripe_account_idem_key = \
       COALESCE(stripe_account_idem_key, CASE WHEN stripe_account_uncertain THEN $3 ELSE $2 END) \
     WHERE clerk_user_id = $1 RETURNING stripe_account_idem_key, stripe_account_uncertain",
    &[Type::TEXT, Type::TEXT, Type::TEXT],
);
pub(super) const RELEASE_CUSTOMER_KEY: Sql = Sql::new(
    "UPDATE users SET stripe_customer_idem_key = NULL, \
       stripe_customer_uncertain = true WHERE clerk_user_id = $1 AND stripe_customer_idem_key = $2",
    &[Type::TEXT, Type::TEXT],
);
pub(super) const RELEASE_ACCOUNT_KEY: Sql = Sql::new(
    "UPDATE users SET stripe_account_idem_key = NULL, \
       stripe_account_uncertain = true WHERE clerk_user_id = $1 AND stripe_account_idem_key = $2",
    &[Type::TEXT, Type::TEXT],
);
pub(super) const SETTLE_CUSTOMER: Sql = Sql::new(
    "UPDATE users SET stripe_customer_uncertain = false WHERE clerk_user_id = $1",
    &[Type::TEXT],
);
pub(super) const SETTLE_ACCOUNT: Sql = Sql::new(
    "UPDATE users SET stripe_account_uncertain = false WHERE clerk_user_id = $1",
    &[Type::TEXT],
);
pub(super) const STORE_CARD: Sql = Sql::new(
    "UPDATE users SET card_payment_method_id = $2, card_brand = $3, card_last4 = $4, \
       card_exp_month = $5, card_exp_year = $6, card_updated_at = now(), updated_at = now() \
     WHERE clerk_user_id = $1 \
     RETURNING card_payment_method_id, card_brand, card_last4, card_exp_month, card_exp_year, card_updated_at",
    &[
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT2,
        Type::INT2,
    ],
);
// The user's row is locked and read once: no row means no such user, and the
// card is cleared only when there is one, so the answer (404, 400 or 200) is
// that of one consistent moment.
pub(super) const CLEAR_CARD: Sql = Sql::new(
    concat!(
        "WITH target AS ( \
       SELECT clerk_user_id, card_payment_method_id IS NOT NULL AS had_card \
       FROM users WHERE clerk_user_id = $1 FOR UPDATE), \
     cleared AS (UPDATE users u SET ",
        no_card!(),
        ", updated_at = now() \
       FROM target t WHERE u.clerk_user_id = t.clerk_user_id AND t.had_card RETURNING 1) \
     SELECT had_card FROM target"
    ),
    &[Type::TEXT],
);
pub(super) const FORGET_PAYMENT_METHOD: Sql = Sql::new(
    concat!(
        "UPDATE users SET ",
        no_card!(),
        ", updated_at = now() WHERE card_payment_method_id = $1"
    ),
    &[Type::TEXT],
);
pub(super) const FORGET_CUSTOMER: Sql = Sql::new(
    concat!(
        "UPDATE users SET stripe_customer_id = NULL, stripe_customer_idem_key = NULL, ",
        no_card!(),
        ", updated_at = now() WHERE stripe_customer_id = $1"
    ),
    &[Type::TEXT],
);
pub(super) const DELIVERY_SEEN: Sql = Sql::new(
    "SELECT 1 FROM webhook_deliveries WHERE source = $1 AND delivery_id = $2",
    &[Type::TEXT, Type::TEXT],
);
pub(super) const RECORD_DELIVERY: Sql = Sql::new(
    "INSERT INTO webhook_deliveries (source, delivery_id) VALUES ($1, $2) \
     ON CONFLICT DO NOTHING",
    &[Type::TEXT, Type::TEXT],
);
pub(super) const USER_IDS_ALL: Sql = Sql::new(
    "SELECT clerk_user_id FROM users WHERE clerk_user_id > $1 ORDER BY clerk_user_id",
    &[Type::TEXT],
);
pub(super) const USER_IDS_PAGE: Sql = Sql::new(
    "SELECT clerk_user_id FROM users WHERE clerk_user_id > $1 ORDER BY clerk_user_id LIMIT $2",
    &[Type::TEXT, Type::INT8],
);
pub(super) const PAYMENT_REFS: Sql = Sql::new(
    "SELECT clerk_user_id, stripe_customer_id, card_payment_method_id \
     FROM users WHERE clerk_user_id = ANY($1)",
    &[Type::TEXT_ARRAY],
);

// Clerk event order (sql/V4).
pub(super) const CLERK_EVENT_STATE: Sql = Sql::new(
    "SELECT \
       (SELECT deleted_at FROM deleted_users WHERE clerk_user_id = $1), \
       (SELECT clerk_event_at FROM users WHERE clerk_user_id = $1)",
    &[Type::TEXT],
);
pub(super) const STAMP_CLERK_EVENT: Sql = Sql::new(
    "UPDATE users SET clerk_event_at = $2 \
     WHERE clerk_user_id = $1 AND (clerk_event_at IS NULL OR clerk_event_at < $2)",
    &[Type::TEXT, Type::TIMESTAMPTZ],
);
pub(super) const DELETE_WITH_TOMBSTONE: Sql = Sql::new(
    "WITH gone AS ( \
       DELETE FROM users WHERE clerk_user_id = $1) \
     INSERT INTO deleted_users (clerk_user_id, deleted_at) VALUES ($1, $2) \
     ON CONFLICT (clerk_user_id) DO UPDATE \
       SET deleted_at = GREATEST(deleted_users.deleted_at, EXCLUDED.deleted_at)",
    &[Type::TEXT, Type::TIMESTAMPTZ],
);

// refinery's history table; absent before the first migration.
pub(super) const SCHEMA_VERSION: Sql = Sql::new(
    "SELECT coalesce(max(version), 0)::int8 FROM refinery_schema_history",
    &[],
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::sql::highest_parameter;

    #[test]
    fn every_parameter_has_a_declared_type() {
        for sql in [
            SELECT_USERS,
            INSERT_TEMP_USER,
            UPSERT_PROFILE,
            SET_CUSTOMER_RATING,
            SET_RUNNER_RATING,
            SET_CUSTOMER_RATINGS,
            SET_RUNNER_RATINGS,
            UPDATE_PROFILES,
            SET_CONNECT_ACCOUNT,
            SET_STRIPE_IDS,
            CLAIM_CUSTOMER_KEY,
            CLAIM_ACCOUNT_KEY,
            RELEASE_CUSTOMER_KEY,
            RELEASE_ACCOUNT_KEY,
            SETTLE_CUSTOMER,
            SETTLE_ACCOUNT,
            STORE_CARD,
            CLEAR_CARD,
            FORGET_PAYMENT_METHOD,
            FORGET_CUSTOMER,
            DELIVERY_SEEN,
            RECORD_DELIVERY,
            USER_IDS_ALL,
            USER_IDS_PAGE,
            PAYMENT_REFS,
            CLERK_EVENT_STATE,
            STAMP_CLERK_EVENT,
            DELETE_WITH_TOMBSTONE,
            SCHEMA_VERSION,
            crate::db::import::UPSERT_IMPORTED,
            crate::db::repository::directory::TAKE_RELAY_LOCK,
            crate::db::repository::directory::OLDEST_PENDING,
            crate::db::repository::directory::TAKE_PENDING,
            crate::db::repository::directory::FORGET_PUBLISHED,
            crate::db::repository::directory::ANY_PENDING_UP_TO,
            crate::db::repository::directory::ENQUEUE_PAGE,
        ] {
            assert_eq!(highest_parameter(sql.text), sql.types.len(), "{}", sql.text);
        }
    }
}
