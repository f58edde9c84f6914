//! The use cases' one error type, in their own words: what went wrong for the
//! caller (a taken email, a declined card, an unknown user), not which layer
//! below failed. The cause stays attached (`source`) for the logs. Edges map it
//! to their outcomes in one place each: HTTP statuses in `http::error`, Kafka
//! replies or retries in `worker::processor`.

use crate::db::{Cause, Conflict, DbError};
use crate::payments::PaymentsError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("user not found")]
    NotFound,
    #[error("no payment method stored for user")]
    NoStoredCard,
    /// A delete found no card to remove (the original answered 400 for it).
    #[error("no payment method to delete")]
    NoCardToDelete,
    #[error("email already used by another user")]
    EmailTaken,
    #[error("username already used by another user")]
    UsernameTaken,
    #[error("user already exists")]
    UserExists,
    /// Deleted in Clerk: never created again, on any path.
    #[error("user was deleted")]
    UserDeleted,
    /// A sync of a user we do not have yet carried no email.
    #[error("email is required to create a user")]
    EmailRequired,
    #[error("payments are not configured")]
    PaymentsNotConfigured,
    /// The card was refused; `message` is the provider's text for the card holder.
    #[error("card declined: {message}")]
    CardDeclined { message: String },
    #[error("payment method not found")]
    PaymentMethodNotFound,
    /// The PaymentMethod is attached to another customer than the user's.
    #[error("payment method belongs to another customer")]
    PaymentMethodNotOwned,
    /// The provider asked us to slow down.
    #[error("payment provider busy")]
    PaymentProviderBusy,
    /// Down, timed out, or answered something unusable.
    #[error("payment provider unavailable: {0}")]
    PaymentProviderUnavailable(#[source] PaymentsError),
    /// The database is unreachable right now; the same call may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// The database's schema is older than this release's migrations: not
    /// ready until the migration Job has run.
    #[error("database schema version {database} is older than this release's {release}")]
    SchemaBehind { database: i64, release: i64 },
    /// A bug or a schema mismatch.
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

impl From<DbError> for ServiceError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(cause) => ServiceError::Unavailable(cause),
            DbError::Conflict(Conflict::Email) => ServiceError::EmailTaken,
            DbError::Conflict(Conflict::Username) => ServiceError::UsernameTaken,
            DbError::Conflict(Conflict::ClerkUserId) => ServiceError::UserExists,
            DbError::Internal(cause) => ServiceError::Internal(cause),
            e @ (DbError::LegacySchema | DbError::TlsSetup(_)) => ServiceError::Internal(e.into()),
        }
    }
}

impl From<PaymentsError> for ServiceError {
    fn from(err: PaymentsError) -> Self {
        match err {
            PaymentsError::NotConfigured => ServiceError::PaymentsNotConfigured,
            PaymentsError::CardDeclined(message) => ServiceError::CardDeclined { message },
            PaymentsError::PaymentMethodNotFound => ServiceError::PaymentMethodNotFound,
            PaymentsError::RateLimited => ServiceError::PaymentProviderBusy,
            e @ (PaymentsError::Unavailable(_) | PaymentsError::Invalid(_)) => {
                ServiceError::PaymentProviderUnavailable(e)
            }
        }
    }
}
