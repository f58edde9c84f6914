//! Every setting's default, every bad value named with what is expected, and
//! no secret in `Debug` output.

use super::*;
use secrecy::ExposeSecret;

/// A loopback listener: `AUTH_MODE=none` is refused on any other.
const LOCAL: (&str, &str) = ("LISTEN_ADDR", "127.0.0.1:3000");

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
            "orchestrator-token-7f3a9c2e41d86b05,orchestrator-token-0d9e8c7b6a5f4e3d",
        ),
        (
            "CLERK_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
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
        !printed.contains("orchestrator-token") && !printed.contains("MfKQ9r8G"),
        "{printed}"
    );
    let err = ApiConfig::from_vars(vars(&[
        ("AUTH_MODE", "none"),
        LOCAL,
        ("CLERK_WEBHOOK_SECRET", "plain"),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("CLERK_WEBHOOK_SECRET"));
}

#[test]
fn defaults_work_on_a_developer_machine() {
    let c = ApiConfig::from_vars(vars(&[("AUTH_MODE", "none"), LOCAL])).unwrap();
    assert_eq!(c.listen_addr.to_string(), "127.0.0.1:3000");
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
    let c = WorkerConfig::from_vars(vars(&[("KAFKA_GROUP_INSTANCE_ID", "user-worker-5f6c-x2b")]))
        .unwrap();
    assert_eq!(
        c.kafka.group_instance_id.as_deref(),
        Some("user-worker-5f6c-x2b")
    );
    let err = WorkerConfig::from_vars(vars(&[("KAFKA_GROUP_INSTANCE_ID", "a b")])).unwrap_err();
    assert!(err.to_string().contains("KAFKA_GROUP_INSTANCE_ID"), "{err}");
}

#[test]
fn secrets_are_not_printed() {
    let c = ApiConfig::from_vars(vars(&[
        ("AUTH_MODE", "none"),
        LOCAL,
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

#[test]
fn placeholder_and_weak_secrets_stop_start_up() {
    let none = ("AUTH_MODE", "none");
    for (var, value, expected) in [
        (
            "SERVICE_TOKENS",
            "short",
            "at least 32 characters of random text",
        ),
        (
            "SERVICE_TOKENS",
            "CHANGE-ME-at-least-16-characters",
            "placeholder",
        ),
        ("SERVICE_TOKENS", &"a".repeat(40), "random text"),
        (
            "SERVICE_TOKENS",
            "orchestrator-service-token-0001",
            "32 characters",
        ),
        ("STRIPE_SECRET_KEY", "CHANGE-ME", "placeholder"),
        ("STRIPE_WEBHOOK_SECRET", "CHANGE-ME", "placeholder"),
        ("STRIPE_WEBHOOK_SECRET", "x", "whsec_"),
        ("STRIPE_WEBHOOK_SECRET", "sk_live_abcdefghijkl", "whsec_"),
        ("CLERK_WEBHOOK_SECRET", "whsec_CHANGE-ME", "placeholder"),
        ("CLERK_WEBHOOK_SECRET", "plain", "whsec_ followed by base64"),
        ("CLERK_WEBHOOK_SECRET", "whsec_not*base64!", "base64"),
        ("CLERK_WEBHOOK_SECRET", "whsec_c2VjcmV0", "base64"),
    ] {
        let err = ApiConfig::from_vars(vars(&[none, LOCAL, (var, value)]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(var) && err.contains(expected),
            "{var}={value}: {err}"
        );
        assert!(
            !err.contains(value) || value.len() < 6,
            "the value is not echoed: {err}"
        );
    }
    let ok = ApiConfig::from_vars(vars(&[
        none,
        LOCAL,
        ("SERVICE_TOKENS", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"),
        ("STRIPE_SECRET_KEY", "sk_test_51SeCrEtKey"),
        (
            "CLERK_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
    ]));
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn a_transaction_pooler_needs_a_direct_url_for_migrations() {
    let c = MigrateConfig::from_vars(vars(&[])).unwrap();
    assert_eq!(c.database.pooler, Pooler::None);
    assert!(std::ptr::eq(c.database.for_migrations(), &c.database));

    let err = MigrateConfig::from_vars(vars(&[("DATABASE_POOLER", "transaction")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("MIGRATION_DATABASE_URL"), "{err}");
    let err = MigrateConfig::from_vars(vars(&[("DATABASE_POOLER", "session")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("DATABASE_POOLER") && err.contains("none or transaction"),
        "{err}"
    );

    let c = MigrateConfig::from_vars(vars(&[
        ("DATABASE_URL", "postgres://app:pw@pgbouncer:6432/users"),
        ("DATABASE_POOLER", "transaction"),
        (
            "MIGRATION_DATABASE_URL",
            "postgres://owner:pw@db:5432/users?sslmode=require",
        ),
    ]))
    .unwrap();
    assert_eq!(c.database.pooler, Pooler::Transaction);
    let direct = c.database.for_migrations();
    assert_eq!(direct.pooler, Pooler::None);
    assert_eq!(direct.pg_config().get_user(), Some("owner"));
    assert_eq!(direct.tls.mode, TlsMode::Require);
    let err = MigrateConfig::from_vars(vars(&[("MIGRATION_DATABASE_URL", "mysql://x")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(": MIGRATION_DATABASE_URL must be a PostgreSQL URL"),
        "{err}"
    );
    assert!(
        !format!("{:?}", c.database).contains("pw"),
        "no password in Debug"
    );
}

/// The configuration fails closed, with one line naming the variable: no
/// panic inside the HTTP layer, no unauthenticated service on a network.
#[test]
fn unsafe_settings_stop_start_up_with_one_line() {
    let clerk = [
        ("CLERK_JWKS_URL", "http://x/jwks"),
        ("CLERK_ISSUER", "https://clerk.example.com"),
        ("CLERK_AUTHORIZED_PARTIES", "https://app.example.com"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all: Vec<_> = clerk
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .copied()
            .collect();
        all.extend_from_slice(extra);
        ApiConfig::from_vars(vars(&all))
    };
    assert!(with(&[]).is_ok());
    for (var, value, expected) in [
        ("CORS_ALLOWED_ORIGINS", "*", "CORS_ALLOWED_ORIGINS must be"),
        (
            "CORS_ALLOWED_ORIGINS",
            "null",
            "CORS_ALLOWED_ORIGINS must be",
        ),
        (
            "CORS_ALLOWED_ORIGINS",
            "app.example.com",
            "CORS_ALLOWED_ORIGINS must be",
        ),
        (
            "CORS_ALLOWED_ORIGINS",
            "https://app.example.com/",
            "CORS_ALLOWED_ORIGINS must be",
        ),
        (
            "CORS_ALLOWED_ORIGINS",
            "https://ok.example, ftp://x",
            "CORS_ALLOWED_ORIGINS must be",
        ),
        (
            "CLERK_AUTHORIZED_PARTIES",
            "",
            "CLERK_AUTHORIZED_PARTIES must be set",
        ),
        (
            "CLERK_AUTHORIZED_PARTIES",
            "*",
            "CLERK_AUTHORIZED_PARTIES must be",
        ),
        (
            "CLERK_MAX_TOKEN_LIFETIME_SECS",
            "0",
            "CLERK_MAX_TOKEN_LIFETIME_SECS",
        ),
        ("AUTH_MODE", "none", "only served on a loopback LISTEN_ADDR"),
    ] {
        let err = with(&[(var, value)]).unwrap_err().to_string();
        assert!(err.contains(expected), "{var}={value}: {err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
    for ok in [
        "http://localhost:5173",
        "https://app.example.com:8443",
        "http://[::1]:3000",
    ] {
        let c = ApiConfig::from_vars(vars(&[
            ("AUTH_MODE", "none"),
            LOCAL,
            ("CORS_ALLOWED_ORIGINS", ok),
        ]));
        assert!(c.is_ok(), "{ok}: {c:?}");
    }
    let clerk = with(&[("CLERK_AUDIENCE", "userlib")])
        .unwrap()
        .auth
        .clerk
        .unwrap();
    assert_eq!(clerk.audience.as_deref(), Some("userlib"));
    assert_eq!(clerk.max_token_lifetime, Duration::from_secs(3600));
    assert!(
        ApiConfig::from_vars(vars(&[
            ("AUTH_MODE", "none"),
            ("LISTEN_ADDR", "[::1]:3000")
        ]))
        .is_ok()
    );
    assert!(
        ApiConfig::from_vars(vars(&[
            ("AUTH_MODE", "none"),
            ("AUTH_NONE_ALLOW_NETWORK", "true")
        ]))
        .is_ok(),
        "the explicit override (a container published on loopback)"
    );
}

#[test]
fn a_sslrootcert_that_is_not_a_pem_ca_file_stops_start_up_naming_it() {
    let path = std::env::temp_dir().join(format!("not-a-ca-{}.pem", std::process::id()));
    std::fs::write(&path, "not a certificate").unwrap();
    let url = format!(
        "postgres://u@localhost/db?sslmode=verify-full&sslrootcert={}",
        path.display()
    );
    let err = DatabaseSettings::new(&url).unwrap_err().to_string();
    let _ = std::fs::remove_file(&path);
    assert!(
        err.contains("sslrootcert") && err.contains("not a PEM CA file"),
        "{err}"
    );
    let missing = DatabaseSettings::new(
        "postgres://u@localhost/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    )
    .unwrap_err()
    .to_string();
    assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
}
