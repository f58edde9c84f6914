//! Configuration from environment variables, read once by each binary at start.
//!
//! envy reads each shared part (database, telemetry, payments) into a raw struct of
//! plain values; each part is then checked into typed settings. A bad value stops
//! start-up with one line that names the variable and says what is expected.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

/// A configuration value that cannot be used. Its text is the whole diagnosis.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

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

/// A secret (API key, token): usable, but never printed by `Debug`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

// ---------------------------------------------------------------- database

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/userservice";

#[derive(Deserialize)]
struct RawDatabase {
    #[serde(default = "default_database_url")]
    database_url: String,
    #[serde(default = "default_pool_size")]
    database_pool_size: usize,
    #[serde(default = "default_db_timeout_ms")]
    database_timeout_ms: u64,
    #[serde(default = "default_db_connect_timeout_ms")]
    database_connect_timeout_ms: u64,
    #[serde(default = "default_shared_read_clients")]
    database_shared_read_clients: usize,
}

/// Measured with bench/read_path.sh on 2 cores: 4 pipelining clients gave the
/// steadiest tail (1: 0.78 of the ceiling, 2: 0.64-0.81, 4: 0.72-0.78, p99 < 4 ms).
fn default_shared_read_clients() -> usize {
    4
}

fn default_database_url() -> String {
    DEFAULT_DATABASE_URL.into()
}
/// Small on purpose: PostgreSQL serves a primary-key read in well under a
/// millisecond, so a few busy connections beat many waiting ones (measured in
/// bench/read_path.sh: on 2 cores, 8 connections serve 64 clients faster than 16).
fn default_pool_size() -> usize {
    8
}
fn default_db_timeout_ms() -> u64 {
    1500
}
fn default_db_connect_timeout_ms() -> u64 {
    1000
}

/// Where the database is and how patiently to talk to it.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
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
            database_pool_size: default_pool_size(),
            database_timeout_ms: default_db_timeout_ms(),
            database_connect_timeout_ms: default_db_connect_timeout_ms(),
            database_shared_read_clients: default_shared_read_clients(),
        })
    }

    fn check(raw: RawDatabase) -> Result<Self, ConfigError> {
        let pg = tokio_postgres::Config::from_str(&raw.database_url).map_err(|_| {
            // The URL may hold a password: do not echo it.
            ConfigError(
                "DATABASE_URL must be a PostgreSQL URL such as postgres://user@host:5432/db".into(),
            )
        })?;
        if raw.database_pool_size == 0 {
            return Err(invalid("DATABASE_POOL_SIZE", "at least 1", "0"));
        }
        if raw.database_timeout_ms == 0 {
            return Err(invalid("DATABASE_TIMEOUT_MS", "at least 1", "0"));
        }
        if raw.database_connect_timeout_ms == 0 {
            return Err(invalid("DATABASE_CONNECT_TIMEOUT_MS", "at least 1", "0"));
        }
        Ok(Self {
            pg,
            pool_size: raw.database_pool_size,
            timeout: Duration::from_millis(raw.database_timeout_ms),
            connect_timeout: Duration::from_millis(raw.database_connect_timeout_ms),
            shared_read_clients: raw.database_shared_read_clients.clamp(1, 64),
        })
    }

    pub fn with_pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    pub fn pg_config(&self) -> tokio_postgres::Config {
        self.pg.clone()
    }
}

// ---------------------------------------------------------------- telemetry

/// How logs are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Deserialize)]
struct RawTelemetry {
    log_format: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    pub log_format: LogFormat,
}

impl TelemetrySettings {
    fn check(raw: RawTelemetry) -> Result<Self, ConfigError> {
        let log_format = match raw
            .log_format
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => {
                return Err(invalid(
                    "LOG_FORMAT",
                    "'text' or 'json'",
                    raw.log_format.as_deref().unwrap_or_default(),
                ));
            }
        };
        Ok(Self { log_format })
    }
}

// ---------------------------------------------------------------- payments

#[derive(Deserialize)]
struct RawPayments {
    stripe_secret_key: Option<Secret>,
    #[serde(default = "default_stripe_api_base")]
    stripe_api_base: String,
    #[serde(default = "default_connect_country")]
    stripe_connect_country: String,
    #[serde(default = "default_stripe_timeout_ms")]
    stripe_timeout_ms: u64,
    #[serde(default = "default_stripe_max_retries")]
    stripe_max_retries: u32,
}

fn default_stripe_api_base() -> String {
    "https://api.stripe.com".into()
}
fn default_connect_country() -> String {
    "SG".into()
}
fn default_stripe_timeout_ms() -> u64 {
    10_000
}
fn default_stripe_max_retries() -> u32 {
    2
}

/// Stripe settings. Without a secret key, payments are "not configured".
#[derive(Debug, Clone)]
pub struct PaymentsSettings {
    pub stripe_secret_key: Option<Secret>,
    /// Base URL of Stripe's API (a test double in tests).
    pub api_base: String,
    /// Country of new Express Connect accounts (two-letter code).
    pub connect_country: String,
    /// Deadline of one HTTP attempt.
    pub timeout: Duration,
    /// Retries after the first attempt, for 429, 5xx and network failures.
    pub max_retries: u32,
}

impl Default for PaymentsSettings {
    fn default() -> Self {
        Self {
            stripe_secret_key: None,
            api_base: default_stripe_api_base(),
            connect_country: default_connect_country(),
            timeout: Duration::from_millis(default_stripe_timeout_ms()),
            max_retries: default_stripe_max_retries(),
        }
    }
}

impl PaymentsSettings {
    /// Stripe at `api_base` with `key`, defaults otherwise (tests use this).
    pub fn stripe(key: &str, api_base: &str) -> Self {
        Self {
            stripe_secret_key: Some(Secret::new(key)),
            api_base: api_base.into(),
            ..Self::default()
        }
    }

    fn check(raw: RawPayments) -> Result<Self, ConfigError> {
        let stripe_secret_key = raw
            .stripe_secret_key
            .filter(|k| !k.expose().trim().is_empty());
        if !(raw.stripe_api_base.starts_with("https://")
            || raw.stripe_api_base.starts_with("http://"))
        {
            return Err(invalid(
                "STRIPE_API_BASE",
                "an http(s) URL",
                &raw.stripe_api_base,
            ));
        }
        let country = raw.stripe_connect_country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid(
                "STRIPE_CONNECT_COUNTRY",
                "a two-letter country code such as SG",
                &raw.stripe_connect_country,
            ));
        }
        if raw.stripe_timeout_ms == 0 {
            return Err(invalid("STRIPE_TIMEOUT_MS", "at least 1", "0"));
        }
        if raw.stripe_max_retries > 10 {
            return Err(invalid(
                "STRIPE_MAX_RETRIES",
                "from 0 to 10",
                &raw.stripe_max_retries.to_string(),
            ));
        }
        Ok(Self {
            stripe_secret_key,
            api_base: raw.stripe_api_base,
            connect_country: country,
            timeout: Duration::from_millis(raw.stripe_timeout_ms),
            max_retries: raw.stripe_max_retries,
        })
    }
}

// ---------------------------------------------------------------- auth

#[derive(Deserialize)]
struct RawAuth {
    auth_mode: Option<String>,
    clerk_jwks_url: Option<String>,
    clerk_jwt_key: Option<String>,
    clerk_issuer: Option<String>,
    clerk_authorized_parties: Option<String>,
    service_tokens: Option<Secret>,
    clerk_webhook_secret: Option<Secret>,
    stripe_webhook_secret: Option<Secret>,
    cors_allowed_origins: Option<String>,
}

/// Where Clerk's public keys come from.
#[derive(Debug, Clone)]
pub enum ClerkKeys {
    /// A JWKS endpoint (keys cached, refetched for unknown key ids).
    Jwks(String),
    /// One PEM public key (Clerk's "JWT public key").
    Pem(String),
}

/// Clerk session-token verification.
#[derive(Debug, Clone)]
pub struct ClerkSettings {
    pub keys: ClerkKeys,
    pub issuer: String,
    /// When not empty, a token's `azp` must be one of these origins.
    pub authorized_parties: Vec<String>,
}

/// Who may call the API, and the secrets of the signed webhooks.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// `None` is `AUTH_MODE=none`: every caller is trusted (development only).
    pub clerk: Option<ClerkSettings>,
    /// Bearer tokens of backend callers (saga orchestrators).
    pub service_tokens: Vec<Secret>,
    pub clerk_webhook_secret: Option<Secret>,
    pub stripe_webhook_secret: Option<Secret>,
    /// Browser origins allowed by CORS (the frontend's).
    pub cors_allowed_origins: Vec<String>,
}

fn list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

impl AuthSettings {
    fn check(raw: RawAuth) -> Result<Self, ConfigError> {
        let mode = raw
            .auth_mode
            .as_deref()
            .unwrap_or("clerk")
            .trim()
            .to_ascii_lowercase();
        let clerk = match mode.as_str() {
            "none" => None,
            "clerk" => {
                let keys = match (
                    raw.clerk_jwks_url.filter(|v| !v.trim().is_empty()),
                    raw.clerk_jwt_key,
                ) {
                    (Some(url), _) => ClerkKeys::Jwks(url),
                    (None, Some(pem)) if !pem.trim().is_empty() => {
                        ClerkKeys::Pem(pem.replace("\\n", "\n"))
                    }
                    _ => {
                        return Err(ConfigError(
                            "CLERK_JWKS_URL (or CLERK_JWT_KEY) must be set when AUTH_MODE=clerk"
                                .into(),
                        ));
                    }
                };
                let issuer = raw
                    .clerk_issuer
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| {
                        ConfigError("CLERK_ISSUER must be set when AUTH_MODE=clerk".into())
                    })?;
                Some(ClerkSettings {
                    keys,
                    issuer,
                    authorized_parties: list(raw.clerk_authorized_parties.as_deref()),
                })
            }
            other => return Err(invalid("AUTH_MODE", "'clerk' or 'none'", other)),
        };
        let service_tokens = list(raw.service_tokens.as_ref().map(Secret::expose))
            .into_iter()
            .map(Secret::new)
            .collect::<Vec<_>>();
        if service_tokens.iter().any(|t| t.expose().len() < 16) {
            return Err(ConfigError(
                "SERVICE_TOKENS must each be at least 16 characters".into(),
            ));
        }
        let secret = |s: Option<Secret>| s.filter(|v| !v.expose().trim().is_empty());
        let clerk_webhook_secret = secret(raw.clerk_webhook_secret);
        if clerk_webhook_secret
            .as_ref()
            .is_some_and(|s| !s.expose().starts_with("whsec_"))
        {
            return Err(ConfigError(
                "CLERK_WEBHOOK_SECRET must look like whsec_…".into(),
            ));
        }
        Ok(Self {
            clerk,
            service_tokens,
            clerk_webhook_secret,
            stripe_webhook_secret: secret(raw.stripe_webhook_secret),
            cors_allowed_origins: list(raw.cors_allowed_origins.as_deref()),
        })
    }
}

// ---------------------------------------------------------------- user-api

#[derive(Deserialize)]
struct RawApi {
    #[serde(default = "default_listen_addr")]
    listen_addr: String,
    #[serde(default = "default_shutdown_timeout_secs")]
    shutdown_timeout_secs: u64,
    #[serde(default = "default_true")]
    migrate_on_start: bool,
}

fn default_listen_addr() -> String {
    "0.0.0.0:3000".into()
}
fn default_shutdown_timeout_secs() -> u64 {
    20
}
fn default_true() -> bool {
    true
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

// ---------------------------------------------------------------- kafka

#[derive(Deserialize)]
struct RawKafka {
    #[serde(default = "default_bootstrap")]
    kafka_bootstrap_servers: String,
    #[serde(default = "default_commands_topic")]
    kafka_user_commands_topic: String,
    #[serde(default = "default_events_topic")]
    kafka_user_events_topic: String,
    #[serde(default = "default_group_id")]
    kafka_user_service_group_id: String,
    #[serde(default = "default_dlq_topic")]
    kafka_dlq_topic: String,
    #[serde(default = "default_batch_size")]
    kafka_batch_size: usize,
    #[serde(default = "default_batch_wait_ms")]
    kafka_batch_wait_ms: u64,
    kafka_properties: Option<Secret>,
}

fn default_bootstrap() -> String {
    "127.0.0.1:9092".into()
}
fn default_commands_topic() -> String {
    "user_commands".into()
}
fn default_events_topic() -> String {
    "user_events".into()
}
fn default_group_id() -> String {
    "user-service-group".into()
}
fn default_dlq_topic() -> String {
    "user_commands.dlq".into()
}
fn default_batch_size() -> usize {
    500
}
fn default_batch_wait_ms() -> u64 {
    10
}

/// Which clients an extra librdkafka property is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaClient {
    Both,
    Consumer,
    Producer,
}

/// Kafka settings of the worker.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    pub bootstrap_servers: String,
    pub commands_topic: String,
    pub events_topic: String,
    pub group_id: String,
    pub dlq_topic: String,
    /// Most messages answered together (one database query per batch).
    pub batch_size: usize,
    /// How long a batch waits for more messages once it has one.
    pub batch_wait: Duration,
    /// Extra librdkafka properties (`KAFKA_PROPERTIES`), e.g. TLS and SASL.
    /// Values may be secrets: `Debug` prints the keys only.
    pub properties: Vec<(String, KafkaClient, Secret)>,
}

impl KafkaSettings {
    /// Settings for a broker and topic names, with the defaults of everything else.
    pub fn new(bootstrap: &str, commands: &str, events: &str, dlq: &str, group: &str) -> Self {
        Self {
            bootstrap_servers: bootstrap.into(),
            commands_topic: commands.into(),
            events_topic: events.into(),
            group_id: group.into(),
            dlq_topic: dlq.into(),
            batch_size: default_batch_size(),
            batch_wait: Duration::from_millis(default_batch_wait_ms()),
            properties: Vec::new(),
        }
    }

    fn check(raw: RawKafka) -> Result<Self, ConfigError> {
        for (var, value) in [
            ("KAFKA_BOOTSTRAP_SERVERS", &raw.kafka_bootstrap_servers),
            ("KAFKA_USER_COMMANDS_TOPIC", &raw.kafka_user_commands_topic),
            ("KAFKA_USER_EVENTS_TOPIC", &raw.kafka_user_events_topic),
            (
                "KAFKA_USER_SERVICE_GROUP_ID",
                &raw.kafka_user_service_group_id,
            ),
            ("KAFKA_DLQ_TOPIC", &raw.kafka_dlq_topic),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(var, "non-empty", value));
            }
        }
        if raw.kafka_batch_size == 0 || raw.kafka_batch_size > 10_000 {
            return Err(invalid(
                "KAFKA_BATCH_SIZE",
                "from 1 to 10000",
                &raw.kafka_batch_size.to_string(),
            ));
        }
        let properties = match &raw.kafka_properties {
            None => Vec::new(),
            Some(list) => parse_properties(list.expose())?,
        };
        Ok(Self {
            bootstrap_servers: raw.kafka_bootstrap_servers,
            commands_topic: raw.kafka_user_commands_topic,
            events_topic: raw.kafka_user_events_topic,
            group_id: raw.kafka_user_service_group_id,
            dlq_topic: raw.kafka_dlq_topic,
            batch_size: raw.kafka_batch_size,
            batch_wait: Duration::from_millis(raw.kafka_batch_wait_ms),
            properties,
        })
    }
}

/// `key=value` pairs separated by `;` or newlines; a `consumer.` or `producer.`
/// prefix limits a property to that client (e.g. `consumer.session.timeout.ms=6000`).
fn parse_properties(list: &str) -> Result<Vec<(String, KafkaClient, Secret)>, ConfigError> {
    list.split([';', '\n'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (key, value) = entry.split_once('=').ok_or_else(|| {
                ConfigError(
                    "KAFKA_PROPERTIES must be key=value pairs separated by ';' (a key had no '=')"
                        .into(),
                )
            })?;
            let key = key.trim();
            let (client, key) = if let Some(k) = key.strip_prefix("consumer.") {
                (KafkaClient::Consumer, k)
            } else if let Some(k) = key.strip_prefix("producer.") {
                (KafkaClient::Producer, k)
            } else {
                (KafkaClient::Both, key)
            };
            if key.is_empty() {
                return Err(ConfigError("KAFKA_PROPERTIES has an empty key".into()));
            }
            Ok((key.to_owned(), client, Secret::new(value.trim())))
        })
        .collect()
}

// ---------------------------------------------------------------- user-api migrate

/// What `user-api migrate` reads: only the database and logging parts, so a
/// migration Job needs no Stripe or Clerk settings.
#[derive(Debug, Clone)]
pub struct MigrateConfig {
    pub database: DatabaseSettings,
    pub telemetry: TelemetrySettings,
}

impl MigrateConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let vars: Vec<_> = std::env::vars().collect();
        Ok(Self {
            database: DatabaseSettings::check(read(&vars)?)?,
            telemetry: TelemetrySettings::check(read(&vars)?)?,
        })
    }
}

// ---------------------------------------------------------------- user-worker

#[derive(Deserialize)]
struct RawWorker {
    #[serde(default = "default_worker_shutdown_secs")]
    worker_shutdown_timeout_secs: u64,
    #[serde(default = "default_worker_http_addr")]
    worker_http_addr: String,
}

fn default_worker_http_addr() -> String {
    "0.0.0.0:9090".into()
}

fn default_worker_shutdown_secs() -> u64 {
    25
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
            .map(|(k, who, v)| (k.as_str(), *who, v.expose()))
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
            c.payments.stripe_secret_key.unwrap().expose(),
            "sk_test_supersecret"
        );
    }
}
