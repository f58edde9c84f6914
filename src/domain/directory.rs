//! The user directory (docs/user-directory.md): what the service publishes
//! about a user for other services to subscribe to — the public view, never
//! an email, phone, rating or payment detail.

use chrono::{DateTime, Utc};

/// One committed change to the directory, in the order of `version`.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryEntry {
    /// Strictly increasing per user, in commit order: a consumer that has
    /// seen a higher version of this user already may drop this one.
    pub version: i64,
    pub clerk_user_id: String,
    /// `None`: the user was deleted (the topic's tombstone).
    pub profile: Option<PublicProfile>,
    /// When the change was committed to the outbox (the relay's lag).
    pub written_at: DateTime<Utc>,
}

/// A user's public view as the directory carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicProfile {
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub updated_at: DateTime<Utc>,
}
