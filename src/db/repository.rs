//! The repository: every SQL statement of the service, each a constant string with
//! bind parameters (never built from user data), prepared once per connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use futures_util::{Stream, StreamExt};
use tokio_postgres::Row;

use super::shared::SharedReads;
use super::{Conflict, DbError, TimedOut};
use crate::config::DatabaseSettings;
use crate::domain::{
    CardDetails, ClerkUserId, ConnectAccountId, NewTempUser, PaymentRef, ProfileUpdate, Rating,
    RatingKind, StoredCard, User,
};

/// A Stripe object we create for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StripeObject {
    Customer,
    ConnectAccount,
}

/// The Stripe ids stored on a user's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeIds {
    pub customer: Option<String>,
    pub connect_account: Option<String>,
}

/// What removing a user's stored card found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardRemoval {
    Removed,
    NoCard,
    NoSuchUser,
}

/// An idempotency key claimed for a creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedKey {
    pub key: String,
    /// The previous attempt ended indeterminately: look before creating.
    pub after_indeterminate: bool,
}

/// A stream of user ids that owns its pooled connection until it is dropped.
pub type UserIdStream = Pin<Box<dyn Stream<Item = Result<String, DbError>> + Send>>;

/// The column list every user-returning statement selects, in `user_from_row` order.
macro_rules! user_columns {
    () => {
        "clerk_user_id, username, email, first_name, last_name, phone_number, \
         customer_rating, runner_rating, stripe_customer_id, stripe_connect_account_id, \
         created_at, updated_at, card_payment_method_id, card_brand, card_last4, \
         card_exp_month, card_exp_year, card_updated_at"
    };
}

const SELECT_USER: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE clerk_user_id = $1"
);

const INSERT_TEMP_USER: &str = concat!(
    "INSERT INTO users (clerk_user_id, email, first_name, last_name) VALUES ($1, $2, $3, $4) RETURNING ",
    user_columns!()
);

// One statement for "create or update": concurrent first syncs of one user serialise
// on the primary key, so exactly one inserts and the other updates. `xmax = 0` is
// true only for a freshly inserted row version. Card and Stripe columns are not
// touched: a profile sync never changes payment data.
const UPSERT_PROFILE: &str = concat!(
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

const SET_CUSTOMER_RATING: &str =
    "UPDATE users SET customer_rating = $2, updated_at = now() WHERE clerk_user_id = $1";
const SET_RUNNER_RATING: &str =
    "UPDATE users SET runner_rating = $2, updated_at = now() WHERE clerk_user_id = $1";
const SET_CONNECT_ACCOUNT: &str = "UPDATE users SET stripe_connect_account_id = $2, updated_at = now() \
     WHERE clerk_user_id = $1";
// First stored id wins (COALESCE), so concurrent provisioning cannot overwrite.
const SET_STRIPE_IDS: &str = "UPDATE users SET \
       stripe_customer_id = COALESCE(stripe_customer_id, $2), \
       stripe_connect_account_id = COALESCE(stripe_connect_account_id, $3), \
       updated_at = now() \
     WHERE clerk_user_id = $1 \
     RETURNING stripe_customer_id, stripe_connect_account_id";
// Idempotency keys (see sql/V2): claim keeps an existing key, else takes $2, or
// $3 (a fresh one) after an indeterminate attempt; release marks that attempt.
const CLAIM_CUSTOMER_KEY: &str = "UPDATE users SET stripe_customer_idem_key = \
       COALESCE(stripe_customer_idem_key, CASE WHEN stripe_customer_uncertain THEN $3 ELSE $2 END) \
     WHERE clerk_user_id = $1 RETURNING stripe_customer_idem_key, stripe_customer_uncertain";
const CLAIM_ACCOUNT_KEY: &str = "UPDATE users SET stripe_account_idem_key = \
       COALESCE(stripe_account_idem_key, CASE WHEN stripe_account_uncertain THEN $3 ELSE $2 END) \
     WHERE clerk_user_id = $1 RETURNING stripe_account_idem_key, stripe_account_uncertain";
const RELEASE_CUSTOMER_KEY: &str = "UPDATE users SET stripe_customer_idem_key = NULL, \
       stripe_customer_uncertain = true WHERE clerk_user_id = $1 AND stripe_customer_idem_key = $2";
const RELEASE_ACCOUNT_KEY: &str = "UPDATE users SET stripe_account_idem_key = NULL, \
       stripe_account_uncertain = true WHERE clerk_user_id = $1 AND stripe_account_idem_key = $2";
const SETTLE_CUSTOMER: &str =
    "UPDATE users SET stripe_customer_uncertain = false WHERE clerk_user_id = $1";
const SETTLE_ACCOUNT: &str =
    "UPDATE users SET stripe_account_uncertain = false WHERE clerk_user_id = $1";
const STORE_CARD: &str = "UPDATE users SET card_payment_method_id = $2, card_brand = $3, card_last4 = $4, \
       card_exp_month = $5, card_exp_year = $6, card_updated_at = now(), updated_at = now() \
     WHERE clerk_user_id = $1 \
     RETURNING card_payment_method_id, card_brand, card_last4, card_exp_month, card_exp_year, card_updated_at";
// The user's row is locked and read once: no row means no such user, and the
// card is cleared only when there is one, so the answer (404, 400 or 200) is
// that of one consistent moment.
const CLEAR_CARD: &str = "WITH target AS ( \
       SELECT clerk_user_id, card_payment_method_id IS NOT NULL AS had_card \
       FROM users WHERE clerk_user_id = $1 FOR UPDATE), \
     cleared AS ( \
       UPDATE users u SET card_payment_method_id = NULL, card_brand = NULL, card_last4 = NULL, \
         card_exp_month = NULL, card_exp_year = NULL, card_updated_at = NULL, updated_at = now() \
       FROM target t WHERE u.clerk_user_id = t.clerk_user_id AND t.had_card RETURNING 1) \
     SELECT had_card FROM target";
const DELETE_USER: &str = "DELETE FROM users WHERE clerk_user_id = $1";
const FORGET_PAYMENT_METHOD: &str = "UPDATE users SET card_payment_method_id = NULL, card_brand = NULL, \
       card_last4 = NULL, card_exp_month = NULL, card_exp_year = NULL, card_updated_at = NULL, updated_at = now() \
     WHERE card_payment_method_id = $1";
const FORGET_CUSTOMER: &str = "UPDATE users SET stripe_customer_id = NULL, stripe_customer_idem_key = NULL, \
       card_payment_method_id = NULL, card_brand = NULL, card_last4 = NULL, card_exp_month = NULL, \
       card_exp_year = NULL, card_updated_at = NULL, updated_at = now() \
     WHERE stripe_customer_id = $1";
const DELIVERY_SEEN: &str =
    "SELECT 1 FROM webhook_deliveries WHERE source = $1 AND delivery_id = $2";
const RECORD_DELIVERY: &str = "INSERT INTO webhook_deliveries (source, delivery_id) VALUES ($1, $2) \
     ON CONFLICT DO NOTHING";
const USER_IDS_ALL: &str =
    "SELECT clerk_user_id FROM users WHERE clerk_user_id > $1 ORDER BY clerk_user_id";
const USER_IDS_PAGE: &str =
    "SELECT clerk_user_id FROM users WHERE clerk_user_id > $1 ORDER BY clerk_user_id LIMIT $2";
const PAYMENT_REFS: &str = "SELECT clerk_user_id, stripe_customer_id, card_payment_method_id \
     FROM users WHERE clerk_user_id = ANY($1)";

/// Access to the `users` table. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Repository {
    pool: Pool,
    timeout: Duration,
    /// The hot primary-key read, pipelined on shared clients (see `shared.rs`).
    user_reads: Arc<SharedReads>,
}

impl Repository {
    /// Each operation is bounded by the settings' timeout, from waiting for a
    /// connection to the last row.
    pub fn new(pool: Pool, settings: &DatabaseSettings) -> Self {
        let pg = settings.pg_config();
        Self {
            pool,
            timeout: settings.timeout,
            user_reads: Arc::new(SharedReads::new(
                pg,
                SELECT_USER,
                settings.shared_read_clients,
            )),
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The pool's state for the `/metrics` gauges.
    pub fn pool_gauges(&self) -> crate::metrics::PoolGauges {
        let status = self.pool.status();
        crate::metrics::PoolGauges {
            in_use: status.size.saturating_sub(status.available),
            idle: status.available,
            waiting: status.waiting,
        }
    }

    async fn deadline<T>(
        &self,
        op: impl Future<Output = Result<T, DbError>>,
    ) -> Result<T, DbError> {
        tokio::time::timeout(self.timeout, op)
            .await
            .unwrap_or_else(|_| Err(DbError::Unavailable(TimedOut.into())))
    }

    /// Round trip to the database (readiness).
    pub async fn ping(&self) -> Result<(), DbError> {
        self.deadline(async {
            let client = self.pool.get().await?;
            client.simple_query("SELECT 1").await?;
            Ok(())
        })
        .await
    }

    pub async fn find_user(&self, id: &ClerkUserId) -> Result<Option<User>, DbError> {
        self.deadline(async {
            let row = self.user_reads.query_opt(&[&id.as_str()]).await?;
            Ok(row.as_ref().map(user_from_row))
        })
        .await
    }

    pub async fn insert_temp_user(&self, user: &NewTempUser) -> Result<User, DbError> {
        self.deadline(async {
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached(INSERT_TEMP_USER).await?;
            let row = client
                .query_one(
                    &stmt,
                    &[
                        &user.clerk_user_id.as_str(),
                        &user.email.as_str(),
                        &user.first_name.as_str(),
                        &user.last_name.as_str(),
                    ],
                )
                .await?;
            Ok(user_from_row(&row))
        })
        .await
    }

    /// Creates the user or updates its profile fields; `true` when it was created.
    pub async fn upsert_profile(&self, p: &ProfileUpdate) -> Result<(User, bool), DbError> {
        match self.upsert_profile_once(p).await {
            // `ON CONFLICT (clerk_user_id)` arbitrates only the primary key. When two
            // first syncs of one user race, the loser can instead collide with the
            // winner's not-yet-committed row on the email (or username) index. By
            // the time that error is raised the winner has committed, so one retry
            // takes the update path; a real clash with another user fails again.
            Err(DbError::Conflict(Conflict::Email | Conflict::Username)) => {
                self.upsert_profile_once(p).await
            }
            other => other,
        }
    }

    async fn upsert_profile_once(&self, p: &ProfileUpdate) -> Result<(User, bool), DbError> {
        self.deadline(async {
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached(UPSERT_PROFILE).await?;
            let phone = p.phone_number.as_ref();
            let username = p.username.as_ref();
            let row = client
                .query_one(
                    &stmt,
                    &[
                        &p.clerk_user_id.as_str(),
                        &p.email.as_str(),
                        &p.first_name.as_ref().map(|n| n.as_str()),
                        &p.last_name.as_ref().map(|n| n.as_str()),
                        &phone.is_some(),
                        &phone.and_then(|v| v.as_ref()).map(|v| v.as_str()),
                        &username.is_some(),
                        &username.and_then(|v| v.as_ref()).map(|v| v.as_str()),
                    ],
                )
                .await?;
            let created: bool = row.get("inserted");
            Ok((user_from_row(&row), created))
        })
        .await
    }

    /// `false` when there is no such user.
    pub async fn set_rating(
        &self,
        id: &ClerkUserId,
        kind: RatingKind,
        rating: Rating,
    ) -> Result<bool, DbError> {
        let sql = match kind {
            RatingKind::Customer => SET_CUSTOMER_RATING,
            RatingKind::Runner => SET_RUNNER_RATING,
        };
        self.execute(sql, &[&id.as_str(), &rating.value()]).await
    }

    /// `false` when there is no such user.
    pub async fn set_connect_account(
        &self,
        id: &ClerkUserId,
        account: &ConnectAccountId,
    ) -> Result<bool, DbError> {
        self.execute(SET_CONNECT_ACCOUNT, &[&id.as_str(), &account.as_str()])
            .await
    }

    /// Records Stripe ids created for a user where none is stored yet, and returns
    /// the ids now stored; `None` when there is no such user.
    pub async fn set_stripe_ids(
        &self,
        id: &ClerkUserId,
        customer_id: Option<&str>,
        connect_account_id: Option<&str>,
    ) -> Result<Option<StripeIds>, DbError> {
        self.deadline(async {
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached(SET_STRIPE_IDS).await?;
            let row = client
                .query_opt(&stmt, &[&id.as_str(), &customer_id, &connect_account_id])
                .await?;
            Ok(row.map(|r| StripeIds {
                customer: r.get(0),
                connect_account: r.get(1),
            }))
        })
        .await
    }

    /// The idempotency key for creating `object` for this user: the stored one,
    /// else `first` (never tried) or `fresh` (after an indeterminate attempt).
    /// `None` when there is no such user.
    pub async fn claim_stripe_key(
        &self,
        id: &ClerkUserId,
        object: StripeObject,
        first: &str,
        fresh: &str,
    ) -> Result<Option<ClaimedKey>, DbError> {
        let sql = match object {
            StripeObject::Customer => CLAIM_CUSTOMER_KEY,
            StripeObject::ConnectAccount => CLAIM_ACCOUNT_KEY,
        };
        self.deadline(async {
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached(sql).await?;
            let row = client
                .query_opt(&stmt, &[&id.as_str(), &first, &fresh])
                .await?;
            Ok(row.map(|r| ClaimedKey {
                key: r.get(0),
                after_indeterminate: r.get(1),
            }))
        })
        .await
    }

    /// Records that the attempt with `key` ended indeterminately: the key is
    /// dropped (Stripe would replay its failure for a day) and the next attempt
    /// must first look for what this one may have created.
    pub async fn release_stripe_key(
        &self,
        id: &ClerkUserId,
        object: StripeObject,
        key: &str,
    ) -> Result<(), DbError> {
        let sql = match object {
            StripeObject::Customer => RELEASE_CUSTOMER_KEY,
            StripeObject::ConnectAccount => RELEASE_ACCOUNT_KEY,
        };
        self.execute(sql, &[&id.as_str(), &key]).await.map(drop)
    }

    /// The look-up after an indeterminate attempt is done.
    pub async fn settle_stripe_key(
        &self,
        id: &ClerkUserId,
        object: StripeObject,
    ) -> Result<(), DbError> {
        let sql = match object {
            StripeObject::Customer => SETTLE_CUSTOMER,
            StripeObject::ConnectAccount => SETTLE_ACCOUNT,
        };
        self.execute(sql, &[&id.as_str()]).await.map(drop)
    }

    /// Stores a card as the user's one payment method; `None` when there is no such user.
    pub async fn store_card(
        &self,
        id: &ClerkUserId,
        card: &CardDetails,
    ) -> Result<Option<StoredCard>, DbError> {
        self.deadline(async {
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached(STORE_CARD).await?;
            let row = client
                .query_opt(
                    &stmt,
                    &[
                        &id.as_str(),
                        &card.payment_method_id().as_str(),
                        &card.brand(),
                        &card.last4(),
                        &card.exp_month(),
                        &card.exp_year(),
                    ],
                )
                .await?;
            Ok(row.map(|r| card_from_row(&r, 0).expect("RETURNING yields a whole card")))
        })
        .await
    }

    /// Deletes the user; `false` when there was none.
    pub async fn delete_user(&self, id: &ClerkUserId) -> Result<bool, DbError> {
        self.execute(DELETE_USER, &[&id.as_str()]).await
    }

    /// Forgets the card of whichever user stores this payment method.
    pub async fn forget_payment_method(&self, payment_method_id: &str) -> Result<bool, DbError> {
        self.execute(FORGET_PAYMENT_METHOD, &[&payment_method_id])
            .await
    }

    /// Forgets a deleted Stripe customer (and the card that belonged to it).
    pub async fn forget_customer(&self, customer_id: &str) -> Result<bool, DbError> {
        self.execute(FORGET_CUSTOMER, &[&customer_id]).await
    }

    /// Whether a webhook delivery was already applied.
    pub async fn delivery_seen(&self, source: &str, delivery_id: &str) -> Result<bool, DbError> {
        self.deadline(async {
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached(DELIVERY_SEEN).await?;
            Ok(client
                .query_opt(&stmt, &[&source, &delivery_id])
                .await?
                .is_some())
        })
        .await
    }

    /// Records an applied webhook delivery.
    pub async fn record_delivery(&self, source: &str, delivery_id: &str) -> Result<(), DbError> {
        self.execute(RECORD_DELIVERY, &[&source, &delivery_id])
            .await
            .map(drop)
    }

    /// Forgets the stored card.
    pub async fn clear_card(&self, id: &ClerkUserId) -> Result<CardRemoval, DbError> {
        self.deadline(async {
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached(CLEAR_CARD).await?;
            let row = client.query_opt(&stmt, &[&id.as_str()]).await?;
            Ok(match row.map(|r| r.get::<_, bool>(0)) {
                None => CardRemoval::NoSuchUser,
                Some(false) => CardRemoval::NoCard,
                Some(true) => CardRemoval::Removed,
            })
        })
        .await
    }

    /// One page of ids after `after` (exclusive), in id order.
    pub async fn user_ids_page(
        &self,
        after: Option<&ClerkUserId>,
        limit: i64,
    ) -> Result<Vec<String>, DbError> {
        self.deadline(async {
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached(USER_IDS_PAGE).await?;
            let after = after.map_or("", |a| a.as_str());
            let rows = client.query(&stmt, &[&after, &limit]).await?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
        .await
    }

    /// Every id after `after` (exclusive), in id order, streamed from the server so
    /// that memory stays flat however many users there are. The deadline covers
    /// starting the query; the stream then runs as fast as its reader takes rows.
    pub async fn stream_user_ids(
        &self,
        after: Option<&ClerkUserId>,
    ) -> Result<UserIdStream, DbError> {
        let after = after.map_or(String::new(), |a| a.as_str().to_owned());
        self.deadline(async move {
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached(USER_IDS_ALL).await?;
            let rows = client.query_raw(&stmt, [after]).await?;
            // The closure owns the pooled connection: it goes back to the pool only
            // when the stream is dropped.
            let stream = rows.map(move |row| {
                let _connection = &client;
                row.map(|r| r.get::<_, String>(0)).map_err(DbError::from)
            });
            Ok(Box::pin(stream) as UserIdStream)
        })
        .await
    }

    /// The payment references of many users in one query (the worker's batches).
    /// Ids without a row are simply absent from the result.
    pub async fn payment_refs(&self, ids: &[ClerkUserId]) -> Result<Vec<PaymentRef>, DbError> {
        let ids: Vec<&str> = ids.iter().map(ClerkUserId::as_str).collect();
        self.deadline(async {
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached(PAYMENT_REFS).await?;
            let rows = client.query(&stmt, &[&ids]).await?;
            Ok(rows
                .iter()
                .map(|r| PaymentRef {
                    clerk_user_id: r.get(0),
                    stripe_customer_id: r.get(1),
                    default_payment_method_id: r.get(2),
                })
                .collect())
        })
        .await
    }

    async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<bool, DbError> {
        self.deadline(async {
            let client = self.pool.get().await?;
            let stmt = client.prepare_cached(sql).await?;
            Ok(client.execute(&stmt, params).await? > 0)
        })
        .await
    }
}

fn user_from_row(row: &Row) -> User {
    User {
        clerk_user_id: row.get(0),
        username: row.get(1),
        email: row.get(2),
        first_name: row.get(3),
        last_name: row.get(4),
        phone_number: row.get(5),
        customer_rating: row.get(6),
        runner_rating: row.get(7),
        stripe_customer_id: row.get(8),
        stripe_connect_account_id: row.get(9),
        created_at: row.get(10),
        updated_at: row.get(11),
        card: card_from_row(row, 12),
    }
}

/// The six card columns starting at `first`; the schema guarantees all or none.
fn card_from_row(row: &Row, first: usize) -> Option<StoredCard> {
    let payment_method_id: Option<String> = row.get(first);
    Some(StoredCard {
        payment_method_id: payment_method_id?,
        brand: row.get(first + 1),
        last4: row.get(first + 2),
        exp_month: row.get(first + 3),
        exp_year: row.get(first + 4),
        updated_at: row.get(first + 5),
    })
}
