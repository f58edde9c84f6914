//! Handlers: plain async functions, one per route, grouped by resource. Each
//! parses its inputs into domain values (`requests`), checks access, calls one
//! use case and returns `Result<impl Reply, ApiError>`; `error::reply` turns
//! both outcomes into the response, in one place.

pub mod cards;
pub mod connect_account;
pub mod listing;
pub mod ops;
pub mod ratings;
pub mod users;
pub mod webhook_events;

use std::sync::Arc;

use super::error::ApiError;
use crate::auth::{Access, Caller};
use crate::domain::ClerkUserId;
use crate::service::UserService;

/// The use cases, shared by every request.
pub type Service = Arc<UserService>;

type Result<T> = std::result::Result<T, ApiError>;

/// Who may act on a user named in the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathAccess {
    /// The user themself, or a service.
    SelfOrService,
    /// Services only.
    ServiceOnly,
}

/// The path's user id, once the caller is allowed to act on it.
fn path_user(raw: String, caller: &Caller, access: PathAccess) -> Result<ClerkUserId> {
    let id = ClerkUserId::parse(raw)?;
    allow(
        caller,
        match access {
            PathAccess::SelfOrService => Access::SelfOrService(&id),
            PathAccess::ServiceOnly => Access::ServiceOnly,
        },
    )?;
    Ok(id)
}

fn allow(caller: &Caller, access: Access<'_>) -> Result<()> {
    if caller.may(access) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}
