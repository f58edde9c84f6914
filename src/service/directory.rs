//! The user directory (docs/user-directory.md): the batch look-up of public
//! views, and what the worker's relay and backfill need from the outbox.

use std::future::Future;

use super::{Result, UserService};
use crate::db::{EnqueuedPage, RelayTurn};
use crate::domain::{ClerkUserId, DirectoryEntry, User};

/// The most ids one batch look-up takes.
pub const MAX_LOOKUP_IDS: usize = 100;

impl UserService {
    /// The users of `ids` that exist (an unknown or deleted id is left out),
    /// in the order asked, each once.
    pub async fn find_users(&self, ids: &[ClerkUserId]) -> Result<Vec<User>> {
        let mut seen = std::collections::HashSet::new();
        let distinct: Vec<ClerkUserId> = ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .cloned()
            .collect();
        Ok(self.repo.find_users(&distinct).await?)
    }

    /// Seconds the oldest unpublished directory event has waited.
    pub async fn directory_lag(&self) -> Result<Option<f64>> {
        Ok(self.repo.directory_lag().await?)
    }

    /// One turn of the relay: publish up to `limit` events with `publish`.
    pub async fn relay_directory<F, Fut, E>(&self, limit: i64, publish: F) -> Result<RelayTurn<E>>
    where
        F: FnOnce(Vec<DirectoryEntry>) -> Fut,
        Fut: Future<Output = std::result::Result<(), E>>,
    {
        Ok(self.repo.relay_directory(limit, publish).await?)
    }

    /// One page of the backfill: the users after `after`, enqueued as they are.
    pub async fn enqueue_directory_page(&self, after: &str, limit: i64) -> Result<EnqueuedPage> {
        Ok(self.repo.enqueue_directory_page(after, limit).await?)
    }

    /// Whether an event up to `version` still waits to be published.
    pub async fn directory_pending_up_to(&self, version: i64) -> Result<bool> {
        Ok(self.repo.directory_pending_up_to(version).await?)
    }
}
