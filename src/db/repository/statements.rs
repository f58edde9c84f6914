//! Every SQL statement of the repository: constant strings with bind
//! parameters (never built from user data), prepared once per connection.

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

pub(super) const SELECT_USER: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE clerk_user_id = $1"
);

pub(super) const INSERT_TEMP_USER: &str = concat!(
    "INSERT INTO users (clerk_user_id, email, first_name, last_name) VALUES ($1, $2, $3, $4) RETURNING ",
    user_columns!()
);

// One statement for "create or update": concurrent first syncs of one user serialise
// on the primary key, so exactly one inserts and the other updates. `xmax = 0` is
// true only for a freshly inserted row version. Card and Stripe columns are not
// touched: a profile sync never changes payment data.
pub(super) const UPSERT_PROFILE: &str = concat!(
    "INSERT INTO users (clerk_user_id, email, first_name, last_name, phone_number, username) \
     VALUES ($1, $2, COALESCE($3, ''), COALESCE($4, ''), $6, $8) \
     ON CONFLICT (clerk_user_id) DO UPDATE SET \
       email = EXCLUDED.email, \
       first_name = COALESCE($3, users.first_name), \
       last_name = COALESCE($4, users.last_name), \
       phone_number = CASE WHEN $5 THEN $6 ELSE users.phone_number END, \
       username = CASE WHEN $7 THEN $8 ELSE users.username END, \
       updated_at = now() \
     RETURNING ",
    user_columns!(),
    ", (xmax = 0) AS inserted"
);

pub(super) const SET_CUSTOMER_RATING: &str =
    "UPDATE users SET customer_rating = $2, updated_at = now() WHERE clerk_user_id = $1";
pub(super) const SET_RUNNER_RATING: &str =
    "UPDATE users SET runner_rating = $2, updated_at = now() WHERE clerk_user_id = $1";
pub(super) const SET_CONNECT_ACCOUNT: &str = "UPDATE users SET stripe_connect_account_id = $2, updated_at = now() \
     WHERE clerk_user_id = $1";
// First stored id wins (COALESCE), so concurrent provisioning cannot overwrite.
pub(super) const SET_STRIPE_IDS: &str = "UPDATE users SET \
       stripe_customer_id = COALESCE(stripe_customer_id, $2), \
       stripe_connect_account_id = COALESCE(stripe_connect_account_id, $3), \
       updated_at = now() \
     WHERE clerk_user_id = $1 \
     RETURNING stripe_customer_id, stripe_connect_account_id";
// Idempotency keys (see sql/V2): claim keeps an existing key, else takes $2, or
// $3 (a fresh one) after an indeterminate attempt; release marks that attempt.
pub(super) const CLAIM_CUSTOMER_KEY: &str = "UPDATE users SET stripe_customer_idem_key = \
       COALESCE(stripe_customer_idem_key, CASE WHEN stripe_customer_uncertain THEN $3 ELSE $2 END) \
     WHERE clerk_user_id = $1 RETURNING stripe_customer_idem_key, stripe_customer_uncertain";
pub(super) const CLAIM_ACCOUNT_KEY: &str = "UPDATE users SET stripe_account_idem_key = \
       COALESCE(stripe_account_idem_key, CASE WHEN stripe_account_uncertain THEN $3 ELSE $2 END) \
     WHERE clerk_user_id = $1 RETURNING stripe_account_idem_key, stripe_account_uncertain";
pub(super) const RELEASE_CUSTOMER_KEY: &str = "UPDATE users SET stripe_customer_idem_key = NULL, \
       stripe_customer_uncertain = true WHERE clerk_user_id = $1 AND stripe_customer_idem_key = $2";
pub(super) const RELEASE_ACCOUNT_KEY: &str = "UPDATE users SET stripe_account_idem_key = NULL, \
       stripe_account_uncertain = true WHERE clerk_user_id = $1 AND stripe_account_idem_key = $2";
pub(super) const SETTLE_CUSTOMER: &str =
    "UPDATE users SET stripe_customer_uncertain = false WHERE clerk_user_id = $1";
pub(super) const SETTLE_ACCOUNT: &str =
    "UPDATE users SET stripe_account_uncertain = false WHERE clerk_user_id = $1";
pub(super) const STORE_CARD: &str = "UPDATE users SET card_payment_method_id = $2, card_brand = $3, card_last4 = $4, \
       card_exp_month = $5, card_exp_year = $6, card_updated_at = now(), updated_at = now() \
     WHERE clerk_user_id = $1 \
     RETURNING card_payment_method_id, card_brand, card_last4, card_exp_month, card_exp_year, card_updated_at";
// The user's row is locked and read once: no row means no such user, and the
// card is cleared only when there is one, so the answer (404, 400 or 200) is
// that of one consistent moment.
pub(super) const CLEAR_CARD: &str = concat!(
    "WITH target AS ( \
       SELECT clerk_user_id, card_payment_method_id IS NOT NULL AS had_card \
       FROM users WHERE clerk_user_id = $1 FOR UPDATE), \
     cleared AS (UPDATE users u SET ",
    no_card!(),
    ", updated_at = now() \
       FROM target t WHERE u.clerk_user_id = t.clerk_user_id AND t.had_card RETURNING 1) \
     SELECT had_card FROM target"
);
pub(super) const FORGET_PAYMENT_METHOD: &str = concat!(
    "UPDATE users SET ",
    no_card!(),
    ", updated_at = now() WHERE card_payment_method_id = $1"
);
pub(super) const FORGET_CUSTOMER: &str = concat!(
    "UPDATE users SET stripe_customer_id = NULL, stripe_customer_idem_key = NULL, ",
    no_card!(),
    ", updated_at = now() WHERE stripe_customer_id = $1"
);
pub(super) const DELIVERY_SEEN: &str =
    "SELECT 1 FROM webhook_deliveries WHERE source = $1 AND delivery_id = $2";
pub(super) const RECORD_DELIVERY: &str = "INSERT INTO webhook_deliveries (source, delivery_id) VALUES ($1, $2) \
     ON CONFLICT DO NOTHING";
pub(super) const USER_IDS_ALL: &str =
    "SELECT clerk_user_id FROM users WHERE clerk_user_id > $1 ORDER BY clerk_user_id";
pub(super) const USER_IDS_PAGE: &str =
    "SELECT clerk_user_id FROM users WHERE clerk_user_id > $1 ORDER BY clerk_user_id LIMIT $2";
pub(super) const PAYMENT_REFS: &str = "SELECT clerk_user_id, stripe_customer_id, card_payment_method_id \
     FROM users WHERE clerk_user_id = ANY($1)";

// Clerk event order (sql/V4).
pub(super) const CLERK_EVENT_STATE: &str = "SELECT \
       (SELECT deleted_at FROM deleted_users WHERE clerk_user_id = $1), \
       (SELECT clerk_event_at FROM users WHERE clerk_user_id = $1)";
pub(super) const STAMP_CLERK_EVENT: &str = "UPDATE users SET clerk_event_at = $2 \
     WHERE clerk_user_id = $1 AND (clerk_event_at IS NULL OR clerk_event_at < $2)";
pub(super) const DELETE_WITH_TOMBSTONE: &str = "WITH gone AS ( \
       DELETE FROM users WHERE clerk_user_id = $1) \
     INSERT INTO deleted_users (clerk_user_id, deleted_at) VALUES ($1, $2) \
     ON CONFLICT (clerk_user_id) DO UPDATE \
       SET deleted_at = GREATEST(deleted_users.deleted_at, EXCLUDED.deleted_at)";
