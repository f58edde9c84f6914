//! `DATABASE_*`: where PostgreSQL is and how patiently to talk to it. Read by
//! both binaries and `user-api migrate`/`import-legacy`.

use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, invalid};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/userservice";

#[derive(Deserialize)]
#[serde(default)]
pub(super) struct RawDatabase {
    database_url: String,
    database_pool_size: usize,
    database_timeout_ms: u64,
    database_connect_timeout_ms: u64,
    database_shared_read_clients: usize,
}

impl Default for RawDatabase {
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.into(),
            // Small on purpose: PostgreSQL serves a primary-key read in well under
            // a millisecond, so a few busy connections beat many waiting ones
            // (bench/read_path.sh on 2 cores: 8 connections serve 64 clients
            // faster than 16).
            database_pool_size: 8,
            database_timeout_ms: 1500,
            database_connect_timeout_ms: 1000,
            // bench/read_path.sh on 2 cores: 4 pipelining clients gave the
            // steadiest tail (1: 0.78 of the ceiling, 2: 0.64-0.81, 4: 0.72-0.78).
            database_shared_read_clients: 4,
        }
    }
}

/// Where the database is and how patiently to talk to it.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// The finished connection settings: the URL's, plus our connect timeout.
    pg: tokio_postgres::Config,
    /// Connections in the pool (per process).
    pub pool_size: usize,
    /// Deadline of one repository operation, including the wait for a connection.
    pub timeout: Duration,
    /// Deadline for opening one connection.
    pub connect_timeout: Duration,
    /// Connections shared (pipelined) by the primary-key reads of `GET /user/{id}`.
    pub shared_read_clients: usize,
}

impl DatabaseSettings {
    /// Settings for `url` with the defaults of everything else.
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        Self::check(RawDatabase {
            database_url: url.into(),
            ..RawDatabase::default()
        })
    }

    pub(super) fn check(raw: RawDatabase) -> Result<Self, ConfigError> {
        let mut pg = tokio_postgres::Config::from_str(&raw.database_url).map_err(|_| {
            // The URL may hold a password: do not echo it.
            ConfigError::new(
                "DATABASE_URL must be a PostgreSQL URL such as postgres://user@host:5432/db",
            )
        })?;
        for (var, value) in [
            ("DATABASE_POOL_SIZE", raw.database_pool_size as u64),
            ("DATABASE_TIMEOUT_MS", raw.database_timeout_ms),
            (
                "DATABASE_CONNECT_TIMEOUT_MS",
                raw.database_connect_timeout_ms,
            ),
        ] {
            if value == 0 {
                return Err(invalid(var, "at least 1", "0"));
            }
        }
        let connect_timeout = Duration::from_millis(raw.database_connect_timeout_ms);
        pg.connect_timeout(connect_timeout);
        Ok(Self {
            pg,
            pool_size: raw.database_pool_size,
            timeout: Duration::from_millis(raw.database_timeout_ms),
            connect_timeout,
            shared_read_clients: raw.database_shared_read_clients.clamp(1, 64),
        })
    }

    pub fn with_pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Everything needed to open a connection (the connect timeout included),
    /// for the pool, the shared read clients and migrations alike.
    pub fn pg_config(&self) -> tokio_postgres::Config {
        self.pg.clone()
    }
}
