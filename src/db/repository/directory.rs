//! The user directory's outbox (sql/V5): what the relay takes from it, under
//! a lock that lets one relay at a time publish, and the backfill that puts
//! every current user in it again.
//!
//! One relay at a time, by a *transaction*-level advisory lock held while the
//! taken rows are published: it is released by the commit (or by the
//! connection's end when a relay dies), and unlike a session lock it works
//! behind PgBouncer in transaction mode. One outbox partition is enough: a
//! relay publishes tens of thousands of events a second, far beyond the rate
//! at which profiles change; several would make per-user order depend on
//! routing users to partitions, for nothing.

use std::future::Future;

use tokio_postgres::Row;
use tokio_postgres::types::Type;

use super::{DbError, Repository};
use crate::db::TimedOut;
use crate::db::sql::Sql;
use crate::domain::{DirectoryEntry, PublicProfile};

/// Arbitrary but fixed: "userdir" in ASCII.
const RELAY_LOCK_KEY: i64 = 0x0075_7365_7264_6972;

pub(in crate::db) const TAKE_RELAY_LOCK: Sql =
    Sql::new("SELECT pg_try_advisory_xact_lock($1)", &[Type::INT8]);
pub(in crate::db) const OLDEST_PENDING: Sql = Sql::new(
    "SELECT EXTRACT(EPOCH FROM clock_timestamp() - created_at)::float8 \
     FROM user_directory_outbox ORDER BY id LIMIT 1",
    &[],
);
pub(in crate::db) const TAKE_PENDING: Sql = Sql::new(
    "SELECT id, clerk_user_id, username, first_name, last_name, updated_at, deleted, created_at \
     FROM user_directory_outbox ORDER BY id LIMIT $1",
    &[Type::INT8],
);
// By id, never `id <= max`: a transaction that took a smaller id may commit
// after the rows were read, and its event must stay for the next turn.
pub(in crate::db) const FORGET_PUBLISHED: Sql = Sql::new(
    "DELETE FROM user_directory_outbox WHERE id = ANY($1)",
    &[Type::INT8_ARRAY],
);
pub(in crate::db) const ANY_PENDING_UP_TO: Sql = Sql::new(
    "SELECT EXISTS (SELECT 1 FROM user_directory_outbox WHERE id <= $1)",
    &[Type::INT8],
);
// The backfill's page: each user's current view, read under a share lock so
// that a concurrent change either commits first (and is read here, its event
// before ours) or waits for this page (its event after ours). Either way the
// last event of a user carries its last state.
pub(in crate::db) const ENQUEUE_PAGE: Sql = Sql::new(
    "WITH page AS ( \
       SELECT clerk_user_id, username, first_name, last_name, updated_at FROM users \
       WHERE clerk_user_id > $1 ORDER BY clerk_user_id LIMIT $2 FOR SHARE) \
     INSERT INTO user_directory_outbox \
       (clerk_user_id, username, first_name, last_name, updated_at, deleted) \
     SELECT clerk_user_id, username, first_name, last_name, updated_at, false \
     FROM page ORDER BY clerk_user_id \
     RETURNING id, clerk_user_id",
    &[Type::TEXT, Type::INT8],
);

/// What one turn of the relay did.
#[derive(Debug)]
pub enum RelayTurn<E> {
    /// Another relay holds the outbox.
    Busy,
    /// Nothing to publish.
    Empty,
    /// This many events were published and forgotten.
    Relayed(usize),
    /// Publishing failed: every taken event stays for the next turn.
    PublishFailed(E),
}

/// One page of the backfill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnqueuedPage {
    /// Users enqueued.
    pub users: usize,
    /// The page's last user (where the next page starts), `None` at the end.
    pub last_user: Option<String>,
    /// The highest version enqueued.
    pub last_version: Option<i64>,
}

impl Repository {
    /// How long the oldest event has been waiting, `None` when none is.
    pub async fn directory_lag(&self) -> Result<Option<f64>, DbError> {
        Ok(self.query_opt(OLDEST_PENDING, &[]).await?.map(|r| r.get(0)))
    }

    /// Takes up to `limit` of the oldest events, hands them to `publish`, and
    /// forgets them once it succeeded — all in one transaction that holds the
    /// relay lock, so that no other relay publishes meanwhile and a relay that
    /// dies leaves every event it took in place (published again: duplicates,
    /// never gaps). `publish` is not under the database deadline: it is
    /// bounded by its own (the producer's delivery timeout).
    pub async fn relay_directory<F, Fut, E>(
        &self,
        limit: i64,
        publish: F,
    ) -> Result<RelayTurn<E>, DbError>
    where
        F: FnOnce(Vec<DirectoryEntry>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let mut client = self.deadline(async { Ok(self.pool.get().await?) }).await?;
        let timed = |_| DbError::Unavailable(TimedOut.into());
        let tx = tokio::time::timeout(self.timeout, client.transaction())
            .await
            .map_err(timed)??;
        let rows = tokio::time::timeout(self.timeout, async {
            let lock = tx
                .query_typed_one(
                    TAKE_RELAY_LOCK.text,
                    &TAKE_RELAY_LOCK.typed(&[&RELAY_LOCK_KEY]),
                )
                .await?;
            if !lock.get::<_, bool>(0) {
                return Ok::<_, DbError>(None);
            }
            Ok(Some(
                tx.query_typed(TAKE_PENDING.text, &TAKE_PENDING.typed(&[&limit]))
                    .await?,
            ))
        })
        .await
        .map_err(timed)??;
        // Returning drops `tx`: rolled back, the lock released.
        let Some(rows) = rows else {
            return Ok(RelayTurn::Busy);
        };
        if rows.is_empty() {
            return Ok(RelayTurn::Empty);
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let taken: Vec<DirectoryEntry> = rows.iter().map(entry_from_row).collect();
        let n = taken.len();
        if let Err(e) = publish(taken).await {
            return Ok(RelayTurn::PublishFailed(e));
        }
        tokio::time::timeout(self.timeout, async {
            tx.execute_typed(FORGET_PUBLISHED.text, &FORGET_PUBLISHED.typed(&[&ids]))
                .await?;
            tx.commit().await
        })
        .await
        .map_err(timed)??;
        Ok(RelayTurn::Relayed(n))
    }

    /// Puts the current view of up to `limit` users after `after` (by id) in
    /// the outbox: the backfill (`user-worker publish-directory`).
    pub async fn enqueue_directory_page(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<EnqueuedPage, DbError> {
        let rows = self.query(ENQUEUE_PAGE, &[&after, &limit]).await?;
        Ok(EnqueuedPage {
            users: rows.len(),
            last_user: rows.iter().map(|r| r.get::<_, String>(1)).max(),
            last_version: rows.iter().map(|r| r.get::<_, i64>(0)).max(),
        })
    }

    /// Whether any event up to `version` is still waiting to be published.
    pub async fn directory_pending_up_to(&self, version: i64) -> Result<bool, DbError> {
        Ok(self
            .query_opt(ANY_PENDING_UP_TO, &[&version])
            .await?
            .is_some_and(|r| r.get(0)))
    }
}

fn entry_from_row(row: &Row) -> DirectoryEntry {
    let deleted: bool = row.get(6);
    DirectoryEntry {
        version: row.get(0),
        clerk_user_id: row.get(1),
        profile: (!deleted).then(|| PublicProfile {
            username: row.get(2),
            first_name: row.get(3),
            last_name: row.get(4),
            updated_at: row.get(5),
        }),
        written_at: row.get(7),
    }
}
