//! Integration harness: each test gets the real app, in-process, on a random port,
//! against a fresh PostgreSQL database that the harness creates and migrates and
//! drops afterwards (also when the test panics).
//!
//! The server is the shared local PostgreSQL (`TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432`). Tests never stop it: outages are made
//! with [`proxy::Proxy`], a TCP proxy the test can cut and restore, or on a
//! [`private_pg::PrivateCluster`] of the test's own.

// Each of the four test binaries (api, worker, process, chaos) uses a different part.
#![allow(dead_code)]

pub mod api_process;
pub mod clerk;
pub mod database;
pub mod kafka;
pub mod kafka_runs;
pub mod pgbouncer;
pub mod private_pg;
pub mod proxy;
pub mod stripe;

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::oneshot;
use userlib::config::{ApiConfig, FromEnv};
use userlib::payments::{NotConfigured, PaymentsGateway};
use userlib::startup::Api;

#[allow(unused_imports)] // each test binary uses a different part
pub use database::{TestDb, pg_server_url};
use database::{pg_host_port, pooled_by_default};
pub use pgbouncer::PgBouncer;
pub use proxy::Proxy;

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The app under test.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The internal listener (`METRICS_ADDR`), when the test configured one.
    pub internal_addr: Option<SocketAddr>,
    pub http: reqwest::Client,
    pub db: TestDb,
    pub proxy: Option<Proxy>,
    /// The PgBouncer between the app and the database, when there is one.
    pub pooler: Option<PgBouncer>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<bool>>,
}

pub struct Options {
    pub through_proxy: bool,
    /// Behind a PgBouncer in transaction mode with this many server
    /// connections (`DATABASE_POOLER=transaction`).
    pub through_pooler: Option<u32>,
    pub payments: Arc<dyn PaymentsGateway>,
    /// Extra environment for the app's configuration (auth tests set Clerk's).
    pub env: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            through_proxy: false,
            through_pooler: pooled_by_default().then_some(5),
            payments: Arc::new(NotConfigured),
            env: vec![("AUTH_MODE".into(), "none".into())],
        }
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    /// The app with its database connections going through a [`Proxy`].
    pub async fn spawn_behind_proxy() -> Self {
        Self::spawn_with(Options {
            through_proxy: true,
            ..Default::default()
        })
        .await
    }

    pub async fn spawn_with(options: Options) -> Self {
        // Migrated directly, so the proxy is only in the path of the app's pool.
        let db = TestDb::create_migrated().await;
        let pooler = options.through_pooler.map(|servers| {
            PgBouncer::start(servers)
                .expect("through_pooler needs PgBouncer (scripts/test installs it)")
        });
        // The proxy, when asked for, is the app's first hop (to the pooler, if any).
        let (host, port) = match &pooler {
            Some(p) => ("127.0.0.1".to_string(), p.port),
            None => pg_host_port(),
        };
        let proxy = if options.through_proxy {
            Some(Proxy::start(&format!("{host}:{port}")).await)
        } else {
            None
        };
        let url = match (&proxy, &pooler) {
            (Some(p), _) => db.url_via(p.addr()),
            (None, Some(b)) => b.url(&db.name),
            (None, None) => db.url(),
        };
        let mut vars = vec![
            ("LISTEN_ADDR".to_string(), "127.0.0.1:0".to_string()),
            ("DATABASE_URL".to_string(), url),
            ("DATABASE_POOL_SIZE".to_string(), "4".to_string()),
        ];
        if pooler.is_some() {
            vars.push(("DATABASE_POOLER".into(), "transaction".into()));
            vars.push(("MIGRATION_DATABASE_URL".into(), db.url()));
        }
        // A test's own setting replaces the harness default of the same name.
        vars.retain(|(k, _)| !options.env.iter().any(|(o, _)| o == k));
        vars.extend(options.env);
        let mut config = ApiConfig::from_vars(vars).expect("test configuration");
        config.migrate_on_start = false;
        let api = Api::build_with(&config, options.payments)
            .await
            .expect("build app");
        let addr = api.local_addr();
        let internal_addr = api.internal_addr();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(api.run_until(async {
            let _ = rx.await;
        }));
        Self {
            addr,
            internal_addr,
            http: reqwest::Client::builder().build().unwrap(),
            db,
            proxy,
            pooler,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        send(self.http.get(self.url(path))).await
    }

    /// The text of `/metrics` (Prometheus exposition).
    pub async fn metrics_text(&self) -> String {
        let answer = self.http.get(self.url("/metrics")).send().await.unwrap();
        answer.text().await.unwrap()
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        send(self.http.delete(self.url(path))).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        send(self.http.post(self.url(path)).json(body)).await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> (u16, Value) {
        send(self.http.put(self.url(path)).json(body)).await
    }

    /// A request with a raw body and content type (for bad-input tests).
    pub async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        send(req).await
    }

    /// Creates a user through the API (the way the frontend does).
    pub async fn sync_user(&self, id: &str, email: &str) -> Value {
        let (status, body) = self
            .post_json(
                "/api/user/sync-from-frontend",
                &serde_json::json!({
                    "clerk_user_id": id, "email": email, "first_name": "Ada",
                    "last_name": "Lovelace", "phone_number": "", "username": null
                }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Stores a card directly in the row (the Stripe path is another issue's).
    pub async fn store_card(&self, id: &str, pm: &str) {
        let client = self.db.client().await;
        let n = client
            .execute(
                "UPDATE users SET card_payment_method_id = $2, card_brand = 'visa', card_last4 = '4242', \
                 card_exp_month = 12, card_exp_year = 2030, card_updated_at = now() WHERE clerk_user_id = $1",
                &[&id, &pm],
            )
            .await
            .unwrap();
        assert_eq!(n, 1);
    }

    /// The user's row as JSON, straight from the database (for "unchanged" checks).
    pub async fn row(&self, id: &str) -> Option<Value> {
        let client = self.db.client().await;
        client
            .query_opt(
                "SELECT to_jsonb(u)::text FROM users u WHERE clerk_user_id = $1",
                &[&id],
            )
            .await
            .unwrap()
            .map(|r| serde_json::from_str(r.get::<_, &str>(0)).unwrap())
    }

    pub async fn count_users(&self) -> i64 {
        let client = self.db.client().await;
        client
            .query_one("SELECT count(*) FROM users", &[])
            .await
            .unwrap()
            .get(0)
    }

    /// Stops the server the way SIGTERM would; `true` when it drained in time.
    pub async fn stop(mut self) -> bool {
        let _ = self.shutdown.take().unwrap().send(());
        self.server.take().unwrap().await.unwrap()
    }
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("request reaches the app");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("every answer is JSON; got {status}: {text:?}"));
    (status, json)
}

/// Asserts a failure answer: the status, `success: false` and a message.
#[track_caller]
/// The samples of a Prometheus text exposition, `series → value`; comment
/// lines (`# TYPE`, `# HELP`) are not samples, so a check cannot pass on them.
pub fn metric_samples(text: &str) -> std::collections::HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("`series value`");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

pub fn assert_error(got: &(u16, Value), status: u16) {
    let (code, body) = got;
    assert_eq!(*code, status, "{body}");
    assert_eq!(body["success"], false, "{body}");
    let msg = body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("message missing: {body}"));
    assert!(!msg.is_empty());
    for leak in [
        "serde",
        "postgres",
        "SQL",
        "sqlstate",
        "db error",
        "panicked",
        "invalid type",
        "expected",
    ] {
        assert!(
            !msg.to_lowercase().contains(&leak.to_lowercase()),
            "internal text leaked: {msg}"
        );
    }
}

impl TestApp {
    /// Every row, in id order, as JSON: compare before and after a failed request.
    pub async fn snapshot(&self) -> Value {
        let client = self.db.client().await;
        let text: Option<String> = client
            .query_one(
                "SELECT jsonb_agg(to_jsonb(u) ORDER BY clerk_user_id)::text FROM users u",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        text.map(|t| serde_json::from_str(&t).unwrap())
            .unwrap_or(Value::Null)
    }
}

/// Skips a test that needs something `cargo test` alone does not provide (a
/// broker, localstripe, Chromium, kafka-python): prints why and returns `None`.
/// Under scripts/test, which provides all of them and sets
/// `USERLIB_REQUIRE_EXTERNAL=1`, a missing one fails the run instead.
pub fn skip<T>(what: &str) -> Option<T> {
    assert!(
        std::env::var_os("USERLIB_REQUIRE_EXTERNAL").is_none(),
        "USERLIB_REQUIRE_EXTERNAL is set but {what}"
    );
    eprintln!("SKIPPED: {what}; scripts/test provides it");
    None
}

/// An external program a test drives as a real client would (Chromium, the
/// orchestrators' Python Kafka client): `env_var` names it, else the first of
/// `names` on the PATH; see [`skip`] when it is missing.
pub fn real_client(env_var: &str, names: &[&str]) -> Option<std::path::PathBuf> {
    let from_env = std::env::var_os(env_var).map(std::path::PathBuf::from);
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)));
    match from_env.into_iter().chain(on_path).find(|p| p.is_file()) {
        Some(found) => Some(found),
        None => skip(&format!(
            "{env_var} is not set and none of {names:?} is on the PATH"
        )),
    }
}
