//! Configuration from environment variables, read once by each binary at start
//! (`src/bin`), one section per file: `database`, `telemetry`, `payments`,
//! `auth`, `kafka`. Each section is read by envy into a raw struct whose
//! `Default` holds the defaults, then checked into typed settings; a bad value
//! stops start-up with one line that names the variable and says what is
//! expected. Secrets are `secrecy::SecretString`: usable, never printed.

mod auth;
mod database;
mod kafka;
mod payments;
mod telemetry;

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

pub use auth::{AuthSettings, ClerkKeys, ClerkSettings};
pub use database::{DEFAULT_DATABASE_URL, DatabaseSettings};
pub use kafka::{KafkaClient, KafkaSettings};
pub use payments::PaymentsSettings;
pub use secrecy::{ExposeSecret, SecretString};
pub use telemetry::{LogFormat, TelemetrySettings};

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

// ---------------------------------------------------------------- user-api

#[derive(Deserialize)]
#[serde(default)]
struct RawApi {
    listen_addr: String,
    shutdown_timeout_secs: u64,
    migrate_on_start: bool,
}

impl Default for RawApi {
    fn default() -> Self {
        Self {
            listen_addr: "0.0.0.0:3000".into(),
            shutdown_timeout_secs: 20,
            migrate_on_start: true,
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
    pub database: DatabaseSettings,
    pub telemetry: TelemetrySettings,
    pub payments: PaymentsSettings,
    pub auth: AuthSettings,
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: Vec<_> = vars.into_iter().collect();
        let raw: RawApi = read(&vars)?;
        let listen_addr = socket_addr("LISTEN_ADDR", &raw.listen_addr, "0.0.0.0:3000")?;
        Ok(Self {
            listen_addr,
            shutdown_timeout: Duration::from_secs(raw.shutdown_timeout_secs),
            migrate_on_start: raw.migrate_on_start,
            database: DatabaseSettings::check(read(&vars)?)?,
            telemetry: TelemetrySettings::check(read(&vars)?)?,
            payments: PaymentsSettings::check(read(&vars)?)?,
            auth: AuthSettings::check(read(&vars)?)?,
        })
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

impl MigrateConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: Vec<_> = vars.into_iter().collect();
        Ok(Self {
            database: DatabaseSettings::check(read(&vars)?)?,
            telemetry: TelemetrySettings::check(read(&vars)?)?,
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

impl WorkerConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: Vec<_> = vars.into_iter().collect();
        let raw: RawWorker = read(&vars)?;
        let http_addr = socket_addr("WORKER_HTTP_ADDR", &raw.worker_http_addr, "0.0.0.0:9090")?;
        Ok(Self {
            http_addr,
            database: DatabaseSettings::check(read(&vars)?)?,
            telemetry: TelemetrySettings::check(read(&vars)?)?,
            kafka: KafkaSettings::check(read(&vars)?)?,
            shutdown_timeout: Duration::from_secs(raw.worker_shutdown_timeout_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn auth_settings() {
        let err = ApiConfig::from_vars(vars(&[])).unwrap_err().to_string();
        assert!(
            err.contains("CLERK_JWKS_URL"),
            "clerk is the default mode: {err}"
        );
        let err = ApiConfig::from_vars(vars(&[("CLERK_JWKS_URL", "http://x/jwks")])).unwrap_err();
        assert!(err.to_string().contains("CLERK_ISSUER"));
        let err = ApiConfig::from_vars(vars(&[("AUTH_MODE", "open")])).unwrap_err();
        assert!(err.to_string().contains("AUTH_MODE"));
        let c = ApiConfig::from_vars(vars(&[
            ("CLERK_JWKS_URL", "http://x/jwks"),
            ("CLERK_ISSUER", "https://clerk.example.com"),
            (
                "CLERK_AUTHORIZED_PARTIES",
                "https://app.example.com, http://localhost:5173",
            ),
            (
                "SERVICE_TOKENS",
                "orchestrator-token-0001,orchestrator-token-0002",
            ),
            ("CLERK_WEBHOOK_SECRET", "whsec_c2VjcmV0"),
            ("CORS_ALLOWED_ORIGINS", "http://localhost:5173"),
        ]))
        .unwrap();
        let clerk = c.auth.clerk.as_ref().unwrap();
        assert_eq!(
            clerk.authorized_parties,
            ["https://app.example.com", "http://localhost:5173"]
        );
        assert_eq!(c.auth.service_tokens.len(), 2);
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("orchestrator-token") && !printed.contains("c2VjcmV0"),
            "{printed}"
        );
        let err = ApiConfig::from_vars(vars(&[("AUTH_MODE", "none"), ("SERVICE_TOKENS", "short")]))
            .unwrap_err();
        assert!(err.to_string().contains("SERVICE_TOKENS"));
        let err = ApiConfig::from_vars(vars(&[
            ("AUTH_MODE", "none"),
            ("CLERK_WEBHOOK_SECRET", "plain"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("CLERK_WEBHOOK_SECRET"));
    }

    #[test]
    fn defaults_work_on_a_developer_machine() {
        let c = ApiConfig::from_vars(vars(&[("AUTH_MODE", "none")])).unwrap();
        assert_eq!(c.listen_addr.to_string(), "0.0.0.0:3000");
        assert_eq!(c.database.pg_config().get_dbname(), Some("userservice"));
        assert_eq!(c.database.pool_size, 8);
        assert_eq!(c.telemetry.log_format, LogFormat::Text);
        assert!(c.payments.stripe_secret_key.is_none());
        assert!(c.migrate_on_start);
    }

    #[test]
    fn each_bad_value_is_named_with_what_is_expected() {
        let cases = [
            ("DATABASE_POOL_SIZE", "many", "DATABASE_POOL_SIZE"),
            (
                "DATABASE_POOL_SIZE",
                "0",
                "DATABASE_POOL_SIZE must be at least 1",
            ),
            ("LISTEN_ADDR", "localhost", "LISTEN_ADDR must be host:port"),
            ("LOG_FORMAT", "xml", "LOG_FORMAT must be 'text' or 'json'"),
            (
                "DATABASE_URL",
                "mysql://x",
                "DATABASE_URL must be a PostgreSQL URL",
            ),
            ("DATABASE_TIMEOUT_MS", "-1", "DATABASE_TIMEOUT_MS"),
            (
                "STRIPE_CONNECT_COUNTRY",
                "Singapore",
                "STRIPE_CONNECT_COUNTRY must be a two-letter",
            ),
            (
                "STRIPE_API_BASE",
                "ftp://stripe",
                "STRIPE_API_BASE must be an http(s) URL",
            ),
            ("STRIPE_MAX_RETRIES", "99", "STRIPE_MAX_RETRIES"),
        ];
        for (var, value, expected) in cases {
            let err = ApiConfig::from_vars(vars(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{var}={value}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn worker_defaults_and_kafka_properties() {
        let c = WorkerConfig::from_vars(vars(&[])).unwrap();
        assert_eq!(c.kafka.bootstrap_servers, "127.0.0.1:9092");
        assert_eq!(c.kafka.commands_topic, "user_commands");
        assert_eq!(c.kafka.events_topic, "user_events");
        assert_eq!(c.kafka.group_id, "user-service-group");
        assert_eq!(c.kafka.dlq_topic, "user_commands.dlq");

        let c = WorkerConfig::from_vars(vars(&[(
            "KAFKA_PROPERTIES",
            "security.protocol=SASL_SSL; sasl.password=s3cret\nconsumer.session.timeout.ms=6000",
        )]))
        .unwrap();
        let props: Vec<_> = c
            .kafka
            .properties
            .iter()
            .map(|(k, who, v)| (k.as_str(), *who, v.expose_secret()))
            .collect();
        assert_eq!(
            props,
            [
                ("security.protocol", KafkaClient::Both, "SASL_SSL"),
                ("sasl.password", KafkaClient::Both, "s3cret"),
                ("session.timeout.ms", KafkaClient::Consumer, "6000"),
            ]
        );
        assert!(!format!("{c:?}").contains("s3cret"));
        let err = WorkerConfig::from_vars(vars(&[("KAFKA_PROPERTIES", "novalue")])).unwrap_err();
        assert!(err.to_string().contains("KAFKA_PROPERTIES"));
        let err = WorkerConfig::from_vars(vars(&[("KAFKA_BATCH_SIZE", "0")])).unwrap_err();
        assert!(err.to_string().contains("KAFKA_BATCH_SIZE"));
    }

    #[test]
    fn secrets_are_not_printed() {
        let c = ApiConfig::from_vars(vars(&[
            ("AUTH_MODE", "none"),
            ("STRIPE_SECRET_KEY", "sk_test_supersecret"),
            ("DATABASE_URL", "postgres://u:hunter2@db/x"),
        ]))
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("supersecret"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert_eq!(
            c.payments.stripe_secret_key.unwrap().expose_secret(),
            "sk_test_supersecret"
        );
    }
}
