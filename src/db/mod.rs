//! Persistence: the connection pool, the embedded migrations and the repository.
//!
//! Every call is bounded by a deadline so that an unreachable database turns into
//! [`DbError::Unavailable`] quickly (the HTTP layer answers 503, the worker retries)
//! instead of a request hanging until some TCP timeout.

mod batch;
mod import;
mod migrations;
mod pool;
mod read_batch;
mod repository;
mod shared;
mod sql;
mod tls;

pub use import::Imported;

pub use migrations::{latest_version, migrate};
pub use repository::{
    CardRemoval, ClaimedKey, EnqueuedPage, RelayTurn, Repository, StripeIds, StripeObject,
    Upserted, UserIdStream,
};
pub use tls::tls_connector;

/// Which unique rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    Email,
    Username,
    ClerkUserId,
}

/// What went wrong underneath, kept for the logs.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An operation that did not finish within `DATABASE_TIMEOUT_MS`.
#[derive(Debug, thiserror::Error)]
#[error("database operation timed out")]
pub struct TimedOut;

/// Errors of the persistence layer, already sorted into what callers act on.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be reached in time; retrying later may succeed.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// A unique constraint was violated.
    #[error("unique constraint violated: {0:?}")]
    Conflict(Conflict),
    /// Migrations found the Flask service's schema (Alembic's table, no history
    /// of ours): applying ours on top would fail half-way on its `users` table.
    #[error(
        "this database holds the Flask user service's tables (alembic_version): give user-api a \
         database of its own and bring the users across with \
         `user-api import-legacy --from <this database's URL>` (docs/cut-over.md)"
    )]
    LegacySchema,
    /// The TLS connector could not be built (the CA file changed since
    /// start-up's check, or OpenSSL failed).
    #[error("TLS to PostgreSQL cannot be set up (sslrootcert?): {0}")]
    TlsSetup(String),
    /// Anything else: a bug or a schema mismatch. Logged, never shown to clients.
    #[error("database error: {0}")]
    Internal(#[source] Cause),
}

impl From<tokio_postgres::Error> for DbError {
    fn from(err: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;

        let Some(db) = err.as_db_error() else {
            // No server error: the connection broke, was closed, or never opened.
            return DbError::Unavailable(err.into());
        };
        let code = db.code().clone();
        if code == SqlState::UNIQUE_VIOLATION {
            match db.constraint() {
                Some("users_email_key") => return DbError::Conflict(Conflict::Email),
                Some("users_username_key") => return DbError::Conflict(Conflict::Username),
                Some("users_pkey") => return DbError::Conflict(Conflict::ClerkUserId),
                _ => {}
            }
        }
        // Class 08 (connection exception), 57P0x (shutdown, crash recovery),
        // 53xxx (out of resources): the server is not able to serve us right now.
        let c = code.code();
        if c.starts_with("08") || c.starts_with("57P") || c.starts_with("53") {
            return DbError::Unavailable(err.into());
        }
        DbError::Internal(err.into())
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError;
        match err {
            PoolError::Backend(e) => e.into(),
            other => DbError::Unavailable(other.into()),
        }
    }
}
