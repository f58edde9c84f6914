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
    database_pooler: String,
    migration_database_url: Option<String>,
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
            // With reads batched (db/read_batch.rs) fewer clients carry bigger
            // batches, and the database does less per row: 2 beat 4 in every
            // interleaved pair of bench/read_path.sh runs on 2 cores.
            database_shared_read_clients: 2,
            database_pooler: "none".into(),
            migration_database_url: None,
        }
    }
}

/// libpq's `sslmode` values (tokio-postgres itself knows only the first three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// How to secure connections to PostgreSQL (`sslmode`, `sslrootcert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTls {
    pub mode: TlsMode,
    /// A CA file to verify the server's certificate with.
    pub root_cert: Option<std::path::PathBuf>,
}

impl PgTls {
    /// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL, the way
    /// libpq reads them, and returns the URL tokio-postgres can parse (with its
    /// own `sslmode` set to match). Other connection strings pass unchanged.
    pub fn split_url(url: &str) -> Result<(String, PgTls), ConfigError> {
        let mut tls = PgTls {
            mode: TlsMode::Prefer,
            root_cert: None,
        };
        let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
        let Some((base, query)) = url.split_once('?').filter(|_| is_url) else {
            return Ok((url.to_owned(), tls));
        };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = || {
                urlencoding_decode(value).ok_or_else(|| {
                    ConfigError::new(format!("DATABASE_URL has a badly encoded {key}"))
                })
            };
            match key {
                "sslmode" => {
                    tls.mode = match decoded()?.as_str() {
                        "disable" => TlsMode::Disable,
                        "allow" | "prefer" => TlsMode::Prefer,
                        "require" => TlsMode::Require,
                        "verify-ca" => TlsMode::VerifyCa,
                        "verify-full" => TlsMode::VerifyFull,
                        _ => {
                            return Err(ConfigError::new(
                                "DATABASE_URL sslmode must be disable, prefer, require, verify-ca or verify-full",
                            ));
                        }
                    }
                }
                "sslrootcert" => tls.root_cert = Some(decoded()?.into()),
                _ => kept.push(pair),
            }
        }
        let ssl = match tls.mode {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => "require",
        };
        kept.push(match ssl {
            "disable" => "sslmode=disable",
            "prefer" => "sslmode=prefer",
            _ => "sslmode=require",
        });
        Ok((format!("{base}?{}", kept.join("&")), tls))
    }
}

/// Percent-decoding of one query value (`%2F` in a CA path, say).
fn urlencoding_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// What sits between us and PostgreSQL (`DATABASE_POOLER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooler {
    /// A direct connection, or a pooler in session mode: statements are
    /// prepared once per connection and reused.
    None,
    /// A pooler in transaction mode (PgBouncer without prepared-statement
    /// tracking, before 1.21): consecutive statements of one connection may run
    /// on different server connections, so nothing may outlive one statement —
    /// every query is sent as an unnamed, typed statement with its parameters
    /// in the same round trip, and nothing sets session state.
    Transaction,
}

/// Where the database is and how patiently to talk to it.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// The finished connection settings: the URL's, plus our connect timeout.
    pg: tokio_postgres::Config,
    /// How connections are secured (`sslmode`, `sslrootcert`).
    pub tls: PgTls,
    /// Connections in the pool (per process).
    pub pool_size: usize,
    /// Deadline of one repository operation, including the wait for a connection.
    pub timeout: Duration,
    /// Deadline for opening one connection.
    pub connect_timeout: Duration,
    /// Connections shared (pipelined) by the primary-key reads of `GET /user/{id}`.
    pub shared_read_clients: usize,
    /// What sits between us and PostgreSQL.
    pub pooler: Pooler,
    /// A direct connection for migrations (`MIGRATION_DATABASE_URL`): their
    /// session-level advisory lock cannot live behind a transaction pooler.
    migration: Option<Box<DatabaseSettings>>,
}

impl DatabaseSettings {
    /// Settings for `url` with the defaults of everything else.
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        Self::check(RawDatabase {
            database_url: url.into(),
            ..RawDatabase::default()
        })
    }

    pub(super) fn check(mut raw: RawDatabase) -> Result<Self, ConfigError> {
        let pooler = match raw.database_pooler.trim() {
            "" | "none" => Pooler::None,
            "transaction" => Pooler::Transaction,
            other => return Err(invalid("DATABASE_POOLER", "none or transaction", other)),
        };
        let migration = match raw.migration_database_url.take().filter(|u| !u.is_empty()) {
            Some(url) => Some(Box::new(
                Self::check(RawDatabase {
                    database_url: url,
                    database_pooler: "none".into(),
                    ..RawDatabase::default()
                })
                // The messages name DATABASE_URL; say which one it was.
                .map_err(|e| {
                    ConfigError::new(e.0.replace("DATABASE_URL", "MIGRATION_DATABASE_URL"))
                })?,
            )),
            None if pooler == Pooler::Transaction => {
                return Err(ConfigError::new(
                    "DATABASE_POOLER=transaction needs MIGRATION_DATABASE_URL, a direct \
                     connection for migrations: their session lock cannot live behind a \
                     transaction pooler",
                ));
            }
            None => None,
        };
        let (url, tls) = PgTls::split_url(&raw.database_url)?;
        if let Some(ca) = &tls.root_cert
            && std::fs::metadata(ca).is_err()
        {
            return Err(ConfigError::new(format!(
                "DATABASE_URL sslrootcert {} cannot be read",
                ca.display()
            )));
        }
        let mut pg = tokio_postgres::Config::from_str(&url).map_err(|_| {
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
        check_root_cert(&tls)?;
        Ok(Self {
            pg,
            tls,
            pool_size: raw.database_pool_size,
            timeout: Duration::from_millis(raw.database_timeout_ms),
            connect_timeout,
            shared_read_clients: raw.database_shared_read_clients.clamp(1, 64),
            pooler,
            migration,
        })
    }

    pub fn with_pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Everything needed to open a connection (the connect timeout and
    /// `sslmode` included), for the pool, the shared read clients and
    /// migrations alike; the TLS connector for [`DatabaseSettings::tls`] is
    /// `db::tls_connector`'s.
    pub fn pg_config(&self) -> tokio_postgres::Config {
        self.pg.clone()
    }

    /// The settings migrations connect with: `MIGRATION_DATABASE_URL` when set,
    /// else these.
    pub fn for_migrations(&self) -> &DatabaseSettings {
        self.migration.as_deref().unwrap_or(self)
    }
}

/// A `sslrootcert` that cannot be read or holds no PEM certificate stops
/// start-up here, with a line naming it, rather than at the first connection.
fn check_root_cert(tls: &PgTls) -> Result<(), ConfigError> {
    let Some(ca) = &tls.root_cert else {
        return Ok(());
    };
    let refused = |why: String| {
        ConfigError::new(format!(
            "DATABASE_URL sslrootcert {} is not a PEM CA file: {why}",
            ca.display()
        ))
    };
    let pem = std::fs::read(ca).map_err(|e| refused(e.to_string()))?;
    match openssl::x509::X509::stack_from_pem(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(()),
        Ok(_) => Err(refused("no certificate in it".into())),
        Err(e) => Err(refused(e.to_string())),
    }
}
