//! Domain types: every value that enters the service from outside is parsed into
//! one of these at the edge, so the use cases, the repository and the SQL never see
//! an unchecked string. Each constructor enforces the same limits as the database
//! schema (`sql/`), which keeps a bad value from ever reaching PostgreSQL as an error.

mod card;
mod directory;
mod ids;
mod profile;
mod rating;
mod user;

pub use card::{CardDetails, StoredCard};
pub use directory::{DirectoryEntry, PublicProfile};
pub use ids::{ClerkUserId, ConnectAccountId, CustomerId, PaymentMethodId};
pub use profile::{Email, PersonName, PhoneNumber, Username};
pub use rating::{Rating, RatingKind};
pub use user::{ImportedUser, NewTempUser, PaymentRef, ProfileUpdate, User};

/// A value from outside that does not satisfy its domain type. The message is meant
/// for the caller (it becomes the `message` of a 400) and never contains internals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(String);

impl ValidationError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

/// Length in characters (not bytes), the unit PostgreSQL's `char_length` checks use.
fn char_len(s: &str) -> usize {
    s.chars().count()
}
