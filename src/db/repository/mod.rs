//! The repository: all access to our tables, one file per area (`profiles`,
//! `stripe_keys`, `cards`, `listing`, `directory`), every SQL statement in `statements.rs`.
//! Each operation goes through [`Repository::execute`] / `query` / `query_opt`:
//! a pooled connection, the statement sent as `DATABASE_POOLER` requires
//! (`db/sql.rs`), and the whole of it under `DATABASE_TIMEOUT_MS`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use futures_util::{Stream, StreamExt};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::read_batch::BatchedReads;
use super::shared::SharedReads;
use super::sql::{self, Sql};
use super::{DbError, TimedOut};
use crate::config::{DatabaseSettings, Pooler};
use crate::domain::{
    CardDetails, ClerkUserId, ConnectAccountId, NewTempUser, PaymentRef, ProfileUpdate, Rating,
    RatingKind, StoredCard, User,
};
use statements::*;

pub use directory::{EnqueuedPage, RelayTurn};

mod batched;
mod cards;
mod directory;
mod listing;
mod profiles;
mod statements;
mod stripe_keys;

/// What a profile sync did. Moved once, from the batch to its caller: not
/// boxed, which would cost an allocation per write on the hot path.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Upserted {
    /// The row as stored, and whether this sync created it.
    Saved(User, bool),
    /// The user was deleted in Clerk (a tombstone): not created again.
    Deleted,
    /// No such user, and the sync carried no email to create one with.
    NeedsEmail,
}

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

/// What orders Clerk's events for one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClerkEventState {
    pub deleted_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
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

/// Access to the `users` table. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Repository {
    pool: Pool,
    pooler: Pooler,
    timeout: Duration,
    /// The shared clients (see `shared.rs`): readiness probes, and the hot
    /// primary-key read, batched (`read_batch.rs`).
    user_reads: Arc<SharedReads>,
    users_by_id: Arc<BatchedReads>,
    /// The hot single-row writes, applied in batches (see `db/batch.rs`).
    writes: Arc<batched::Writes>,
    /// Operations that found the database unreachable / reachable, ever: let
    /// a cached readiness result know when events have overtaken it.
    unreachable_seen: Arc<AtomicU64>,
    reachable_seen: Arc<AtomicU64>,
}

impl Repository {
    /// The repository over a new pool for `settings` (no connection is
    /// opened yet: a service starts, and reports "not ready", while
    /// PostgreSQL is down). Each operation is bounded by the settings'
    /// timeout, from waiting for a connection to the last row.
    pub fn connect(settings: &DatabaseSettings) -> Result<Self, DbError> {
        let tls = super::tls_connector(settings)?;
        let pool = super::pool::build_pool(settings, tls.clone());
        Ok(Self::new(pool, settings, tls))
    }

    fn new(
        pool: Pool,
        settings: &DatabaseSettings,
        tls: postgres_openssl::MakeTlsConnector,
    ) -> Self {
        let pg = settings.pg_config();
        let writes = Arc::new(batched::Writes::new(&pool, settings));
        let user_reads = Arc::new(SharedReads::new(
            pg,
            tls,
            settings.pooler,
            SELECT_USERS,
            settings.shared_read_clients,
        ));
        Self {
            writes,
            pool,
            pooler: settings.pooler,
            timeout: settings.timeout,
            users_by_id: Arc::new(BatchedReads::new(user_reads.clone())),
            user_reads,
            unreachable_seen: Arc::new(AtomicU64::new(0)),
            reachable_seen: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many operations have found the database (unreachable, reachable).
    pub fn reachability_seen(&self) -> (u64, u64) {
        (
            self.unreachable_seen.load(Ordering::Relaxed),
            self.reachable_seen.load(Ordering::Relaxed),
        )
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// How statements must be sent (see `db/sql.rs`).
    pub(in crate::db) fn pooler(&self) -> Pooler {
        self.pooler
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
        let result = tokio::time::timeout(self.timeout, op)
            .await
            .unwrap_or_else(|_| Err(DbError::Unavailable(TimedOut.into())));
        match &result {
            Err(DbError::Unavailable(_)) => self.unreachable_seen.fetch_add(1, Ordering::Relaxed),
            _ => self.reachable_seen.fetch_add(1, Ordering::Relaxed),
        };
        result
    }

    /// Round trip to the database, on the shared (pipelined) read clients
    /// rather than the pool: a flood of probes must not take the connections
    /// requests need. The primary-key read of an id that cannot exist.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.deadline(async {
            self.user_reads.query(&[&Vec::<&str>::new()]).await?;
            Ok(())
        })
        .await
    }

    /// The newest migration applied to the database (0 before any). On the
    /// shared clients, like [`Repository::ping`]: readiness never waits for
    /// the pool.
    pub async fn schema_version(&self) -> Result<i64, DbError> {
        let rows = self
            .deadline(self.user_reads.query_unprepared(&SCHEMA_VERSION, &[]))
            .await;
        match rows {
            Ok(rows) => Ok(rows.first().map_or(0, |r| r.get(0))),
            Err(DbError::Internal(cause))
                if cause
                    .downcast_ref::<tokio_postgres::Error>()
                    .and_then(|e| e.code())
                    == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    pub async fn find_user(&self, id: &ClerkUserId) -> Result<Option<User>, DbError> {
        self.deadline(async {
            let row = self.users_by_id.get(id.as_str()).await?;
            Ok(row.as_ref().map(user_from_row))
        })
        .await
    }

    /// The users of `ids` that exist, in the order asked. The reads go out
    /// together and share a round trip (`read_batch.rs`).
    pub async fn find_users(&self, ids: &[ClerkUserId]) -> Result<Vec<User>, DbError> {
        self.deadline(async {
            let rows = futures_util::future::try_join_all(
                ids.iter().map(|id| self.users_by_id.get(id.as_str())),
            )
            .await?;
            Ok(rows.iter().flatten().map(user_from_row).collect())
        })
        .await
    }

    /// Runs `stmt` on a pooled connection under the deadline; `true` when it
    /// touched a row.
    async fn execute(&self, stmt: Sql, params: &[&(dyn ToSql + Sync)]) -> Result<bool, DbError> {
        self.deadline(async {
            let client = self.pool.get().await?;
            Ok(sql::execute(&client, self.pooler, &stmt, params).await? > 0)
        })
        .await
    }

    /// Like [`Repository::execute`], for the rows `stmt` returns.
    async fn query(&self, stmt: Sql, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, DbError> {
        self.deadline(async {
            let client = self.pool.get().await?;
            Ok(sql::query(&client, self.pooler, &stmt, params).await?)
        })
        .await
    }

    /// The first row `stmt` returns, if any.
    async fn query_opt(
        &self,
        sql: Sql,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params).await?.into_iter().next())
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
