//! Where each binary is wired, one file each: `api` builds and serves
//! `user-api` (the binary and the tests run the same), `worker` builds and
//! runs `user-worker` and its one-shot commands. Everything else is built
//! here and handed down; no layer builds its own dependencies.

mod api;
pub mod worker;

pub use api::Api;

use std::net::SocketAddr;

use crate::auth::AuthSetupError;
use crate::db::DbError;
use crate::payments;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("migrations failed: {0}")]
    Migrate(#[from] DbError),
    #[error("database: {0}")]
    Database(DbError),
    #[error("payments: {0}")]
    Payments(#[from] payments::PaymentsError),
    #[error("authentication: {0}")]
    Auth(#[from] AuthSetupError),
}
