//! Configuration from environment variables, read once by each binary at start
//! (`src/bin`), one section per file: `database`, `telemetry`, `payments`,
//! `auth`, `kafka`. Each section is read by envy into a raw struct whose
//! `Default` holds the defaults, then checked into typed settings; a bad value
//! stops start-up with one line that names the variable and says what is
//! expected. Secrets are `secrecy::SecretString`: usable, never printed.

mod auth;
mod database;
mod http;
mod kafka;
mod payments;
mod telemetry;
mod webhooks;

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

pub use auth::{AuthSettings, ClerkKeys, ClerkSettings};
pub use database::{DEFAULT_DATABASE_URL, DatabaseSettings, PgTls, Pooler, TlsMode};
pub use http::{HttpLimits, HttpSettings};
pub use kafka::{KafkaClient, KafkaSettings};
pub use payments::PaymentsSettings;
pub use secrecy::{ExposeSecret, SecretString};
pub use telemetry::{LogFormat, TelemetrySettings};
pub use webhooks::WebhookSettings;

/// A configuration value that cannot be used. Its text is the whole diagnosis.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

fn read<T: serde::de::DeserializeOwned>(vars: &[(String, String)]) -> Result<T, ConfigError> {
    // envy's own messages name the variable ("… provided by DATABASE_POOL_SIZE").
    envy::from_iter(vars.iter().cloned()).map_err(|e| ConfigError(e.to_string()))
}

fn invalid(var: &str, expected: &str, got: &str) -> ConfigError {
    ConfigError(format!("{var} must be {expected} (got '{got}')"))
}

/// A listen address, or an error naming `var` with an example.
fn socket_addr(var: &str, value: &str, example: &str) -> Result<SocketAddr, ConfigError> {
    value
        .parse()
        .map_err(|_| invalid(var, &format!("host:port such as {example}"), value))
}

/// Refuses a secret that still holds an example's placeholder: a deployment
/// copied from `secret.example.yaml` must not start with a working `CHANGE-ME`.
fn refuse_placeholder(var: &str, secret: &SecretString) -> Result<(), ConfigError> {
    let lower = secret.expose_secret().to_ascii_lowercase();
    let markers = [
        "change-me",
        "changeme",
        "change_me",
        "replace-me",
        "placeholder",
    ];
    if markers.iter().any(|m| lower.contains(m)) {
        return Err(ConfigError(format!(
            "{var} holds a placeholder such as change-me: set the real secret"
        )));
    }
    Ok(())
}

/// A comma-separated list, blanks dropped.
fn list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A whole binary's configuration, read from the environment.
pub trait FromEnv: Sized {
    fn from_pairs(vars: &[(String, String)]) -> Result<Self, ConfigError>;

    fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// From given variables instead of the process's (tests).
    fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        Self::from_pairs(&vars.into_iter().collect::<Vec<_>>())
    }
}

// ---------------------------------------------------------------- user-api

#[derive(Deserialize)]
#[serde(default)]
struct RawApi {
    listen_addr: String,
    shutdown_timeout_secs: u64,
    migrate_on_start: bool,
    metrics_addr: Option<String>,
    auth_none_allow_network: bool,
}

impl Default for RawApi {
    fn default() -> Self {
        Self {
            listen_addr: "0.0.0.0:3000".into(),
            shutdown_timeout_secs: 20,
            migrate_on_start: true,
            metrics_addr: None,
            auth_none_allow_network: false,
        }
    }
}

/// Everything `user-api` reads.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub listen_addr: SocketAddr,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub shutdown_timeout: Duration,
    /// Apply migrations before serving (off when a migration Job does it).
    pub migrate_on_start: bool,
    /// Slow and idle clients, the connection cap, CORS.
    pub http: HttpSettings,
    /// Where `/metrics` and the probes are served apart from the API
    /// (`METRICS_ADDR`); `None` serves `/metrics` on the API port.
    pub metrics_addr: Option<SocketAddr>,
    pub database: DatabaseSettings,
    pub telemetry: TelemetrySettings,
    pub payments: PaymentsSettings,
    pub auth: AuthSettings,
    pub webhooks: WebhookSettings,
}

impl FromEnv for ApiConfig {
    fn from_pairs(vars: &[(String, String)]) -> Result<Self, ConfigError> {
        let raw: RawApi = read(vars)?;
        let listen_addr = socket_addr("LISTEN_ADDR", &raw.listen_addr, "0.0.0.0:3000")?;
        let config = Self {
            listen_addr,
            shutdown_timeout: Duration::from_secs(raw.shutdown_timeout_secs),
            migrate_on_start: raw.migrate_on_start,
            http: HttpSettings::check(read(vars)?)?,
            metrics_addr: raw
                .metrics_addr
                .as_deref()
                .filter(|a| !a.trim().is_empty())
                .map(|a| socket_addr("METRICS_ADDR", a, "0.0.0.0:9091"))
                .transpose()?,
            database: DatabaseSettings::check(read(vars)?)?,
            telemetry: TelemetrySettings::check(read(vars)?)?,
            payments: PaymentsSettings::check(read(vars)?)?,
            auth: AuthSettings::check(read(vars)?)?,
            webhooks: WebhookSettings::check(read(vars)?)?,
        };
        // Without authentication anyone who reaches the port is a service:
        // that must be a deliberate, local choice, never a default that
        // slips into a deployment.
        if config.auth.clerk.is_none()
            && !config.listen_addr.ip().is_loopback()
            && !raw.auth_none_allow_network
        {
            return Err(ConfigError(format!(
                "AUTH_MODE=none trusts every caller, so it is only served on a loopback \
                 LISTEN_ADDR such as 127.0.0.1:3000 (got '{}'); set AUTH_MODE=clerk, \
                 or AUTH_NONE_ALLOW_NETWORK=true for a container whose port is published on \
                 loopback only",
                config.listen_addr
            )));
        }
        Ok(config)
    }
}

// ---------------------------------------------------------------- user-api migrate, import-legacy

/// What `user-api migrate` reads: only the database and logging parts, so a
/// migration Job needs no Stripe or Clerk settings.
#[derive(Debug, Clone)]
pub struct MigrateConfig {
    pub database: DatabaseSettings,
    pub telemetry: TelemetrySettings,
}

impl FromEnv for MigrateConfig {
    fn from_pairs(vars: &[(String, String)]) -> Result<Self, ConfigError> {
        Ok(Self {
            database: DatabaseSettings::check(read(vars)?)?,
            telemetry: TelemetrySettings::check(read(vars)?)?,
        })
    }
}

// ---------------------------------------------------------------- user-worker

#[derive(Deserialize)]
#[serde(default)]
struct RawWorker {
    worker_shutdown_timeout_secs: u64,
    worker_http_addr: String,
}

impl Default for RawWorker {
    fn default() -> Self {
        Self {
            worker_shutdown_timeout_secs: 25,
            worker_http_addr: "0.0.0.0:9090".into(),
        }
    }
}

/// Everything `user-worker` reads.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub database: DatabaseSettings,
    pub telemetry: TelemetrySettings,
    pub kafka: KafkaSettings,
    /// After SIGTERM: the longest the in-flight batch may take before we give up
    /// on it (its offsets are then not committed; it is redelivered).
    pub shutdown_timeout: Duration,
    /// Where `/metrics`, `/health` and `/ready` are served.
    pub http_addr: SocketAddr,
}

impl FromEnv for WorkerConfig {
    fn from_pairs(vars: &[(String, String)]) -> Result<Self, ConfigError> {
        let raw: RawWorker = read(vars)?;
        let http_addr = socket_addr("WORKER_HTTP_ADDR", &raw.worker_http_addr, "0.0.0.0:9090")?;
        Ok(Self {
            http_addr,
            database: DatabaseSettings::check(read(vars)?)?,
            telemetry: TelemetrySettings::check(read(vars)?)?,
            kafka: KafkaSettings::check(read(vars)?)?,
            shutdown_timeout: Duration::from_secs(raw.worker_shutdown_timeout_secs),
        })
    }
}

#[cfg(test)]
mod tests;
