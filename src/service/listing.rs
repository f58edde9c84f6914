//! Listing user ids (`GET /user/list-users`): the whole list as a stream, or
//! one page at a time.

use futures_util::{Stream, StreamExt};

use super::{Result, ServiceError, UserService};
use crate::domain::ClerkUserId;

/// Hard cap on one page of `list-users`.
pub const MAX_PAGE_SIZE: i64 = 1000;

/// One page of ids, and the cursor of the next page (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserIdPage {
    pub ids: Vec<String>,
    pub next_cursor: Option<String>,
}

impl UserService {
    /// Every user id after `after`, in id order, streamed: the stream holds one
    /// pooled connection until it ends or is dropped.
    pub async fn user_ids(
        &self,
        after: Option<&ClerkUserId>,
    ) -> Result<impl Stream<Item = Result<String>> + Send + 'static> {
        let ids = self.repo.stream_user_ids(after).await?;
        Ok(ids.map(|id| id.map_err(ServiceError::from)))
    }

    /// One page of at most `limit` ids after `after`.
    pub async fn user_ids_page(
        &self,
        after: Option<&ClerkUserId>,
        limit: i64,
    ) -> Result<UserIdPage> {
        let limit = limit.clamp(1, MAX_PAGE_SIZE);
        // One extra row tells whether another page exists without a COUNT.
        let mut ids = self.repo.user_ids_page(after, limit + 1).await?;
        let next_cursor = if ids.len() as i64 > limit {
            ids.truncate(limit as usize);
            ids.last().cloned()
        } else {
            None
        };
        Ok(UserIdPage { ids, next_cursor })
    }
}
