//! The test's own database: created on the shared PostgreSQL (or a private
//! cluster), migrated, and dropped when the test ends, also when it panics.

use std::net::SocketAddr;

use userlib::config::DatabaseSettings;

/// `USERLIB_TEST_POOLER=transaction` runs every [`TestApp`] behind its own
/// PgBouncer in transaction mode (scripts/test runs the API suite once so).
pub(super) fn pooled_by_default() -> bool {
    std::env::var("USERLIB_TEST_POOLER").is_ok_and(|v| v == "transaction")
}

/// The server part of the PostgreSQL URL, without a database name.
pub fn pg_server_url() -> String {
    std::env::var("TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub(super) fn pg_host_port() -> (String, u16) {
    let cfg: tokio_postgres::Config = format!("{}/postgres", pg_server_url()).parse().unwrap();
    let host = match &cfg.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(p) => p.to_string_lossy().into_owned(),
    };
    (host, cfg.get_ports().first().copied().unwrap_or(5432))
}

/// A database that exists for one test.
pub struct TestDb {
    pub name: String,
    /// The server part of its URL (the shared server unless a test made its own).
    server: String,
}

impl TestDb {
    pub async fn create() -> Self {
        Self::create_on(&pg_server_url()).await
    }

    /// A fresh database on the server at `server` (a private cluster, say).
    pub async fn create_on(server: &str) -> Self {
        let name = format!("userlib_test_{}", uuid::Uuid::new_v4().simple());
        let admin = admin_client(server).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        Self {
            name,
            server: server.to_owned(),
        }
    }

    /// A fresh database with the schema applied.
    pub async fn create_migrated() -> Self {
        Self::create_migrated_on(&pg_server_url()).await
    }

    pub async fn create_migrated_on(server: &str) -> Self {
        let db = Self::create_on(server).await;
        userlib::db::migrate(&DatabaseSettings::new(&db.url()).unwrap())
            .await
            .expect("migrate test database");
        db
    }

    /// Inserts a user with a Stripe customer and a stored card (`cus_<x>`, `pm_<x>`
    /// where `<x>` is the id without its `user_` prefix).
    pub async fn insert_paid_user(&self, id: &str) {
        let x = id.trim_start_matches("user_");
        self.client()
            .await
            .execute(
                "INSERT INTO users (clerk_user_id, email, stripe_customer_id, card_payment_method_id, card_brand, \
                   card_last4, card_exp_month, card_exp_year, card_updated_at) \
                 VALUES ($1, $2, $3, $4, 'visa', '4242', 12, 2030, now())",
                &[&id, &format!("{x}@example.com"), &format!("cus_{x}"), &format!("pm_{x}")],
            )
            .await
            .expect("insert paid user");
    }

    /// URL of this database on the real server.
    pub fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }

    /// URL of this database through a proxy listening on `proxy`.
    pub fn url_via(&self, proxy: SocketAddr) -> String {
        let cfg: tokio_postgres::Config = self.url().parse().unwrap();
        format!(
            "postgres://{}@{}/{}",
            cfg.get_user().unwrap_or("postgres"),
            proxy,
            self.name
        )
    }

    /// Runs SQL the test uses to arrange a state the API cannot make (a crash
    /// between Stripe and our UPDATE, say).
    pub async fn execute(&self, sql: &str) {
        self.client().await.batch_execute(sql).await.unwrap();
    }

    /// Events in the user directory's outbox (sql/V5) not yet relayed.
    pub async fn directory_outbox_len(&self) -> u64 {
        let n: i64 = self
            .client()
            .await
            .query_one("SELECT count(*) FROM user_directory_outbox", &[])
            .await
            .unwrap()
            .get(0);
        n as u64
    }

    /// A direct client for arranging and asserting rows.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url(), tokio_postgres::NoTls)
            .await
            .expect("connect to test database");
        tokio::spawn(conn);
        client
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop may run outside (or while unwinding out of) the test's runtime:
        // do the async cleanup on a thread with a runtime of its own.
        let (name, server) = (self.name.clone(), self.server.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                // A private cluster may already be gone: nothing to drop then.
                let url = format!("{server}/postgres");
                let Ok((admin, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                else {
                    return;
                };
                tokio::spawn(conn);
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            });
        })
        .join();
    }
}

async fn admin_client(server: &str) -> tokio_postgres::Client {
    let url = format!("{server}/postgres");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL (is it running? see scripts/test)");
    tokio::spawn(conn);
    client
}
