//! TLS to PostgreSQL, against a real TLS-only server: a private cluster with
//! `ssl = on`, a certificate for `localhost` signed by a CA made here, and
//! `hostssl` only. `sslmode`/`sslrootcert` in the URL behave as libpq's; the
//! pool, the shared read clients and migrations all go through TLS.

use crate::common::private_pg::{PrivateCluster, TestCerts};
use userlib::config::DatabaseSettings;
use userlib::db::{self, Repository};
use userlib::domain::{ClerkUserId, Rating, RatingKind};

/// Connects with `url` and says whether the session is encrypted.
async fn connect(url: &str) -> Result<bool, String> {
    let settings = DatabaseSettings::new(url).map_err(|e| e.to_string())?;
    let (client, connection) = settings
        .pg_config()
        .connect(db::tls_connector(&settings).unwrap())
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_and_sslrootcert_work_as_libpq_s_against_a_tls_only_server() {
    let certs = TestCerts::make();
    let Some(cluster) =
        PrivateCluster::start_tls_only(&certs.path("server.crt"), &certs.path("server.key"))
    else {
        return;
    };
    let port = cluster.port;
    let ca = certs.path("ca.crt");
    let other = certs.path("other-ca.crt");
    let url =
        |host: &str, query: String| format!("postgres://postgres@{host}:{port}/postgres?{query}");

    assert_eq!(
        connect(&url("127.0.0.1", "sslmode=require".into())).await,
        Ok(true)
    );
    assert_eq!(
        connect(&url(
            "localhost",
            format!("sslmode=verify-full&sslrootcert={}", ca.display())
        ))
        .await,
        Ok(true)
    );
    assert_eq!(
        connect(&url(
            "127.0.0.1",
            format!("sslmode=verify-ca&sslrootcert={}", ca.display())
        ))
        .await,
        Ok(true),
        "verify-ca checks the chain, not the host name"
    );
    let wrong_ca = connect(&url(
        "localhost",
        format!("sslmode=verify-full&sslrootcert={}", other.display()),
    ))
    .await;
    assert!(
        wrong_ca.is_err(),
        "a certificate from another CA is refused: {wrong_ca:?}"
    );
    let wrong_host = connect(&url(
        "127.0.0.1",
        format!("sslmode=verify-full&sslrootcert={}", ca.display()),
    ))
    .await;
    assert!(
        wrong_host.is_err(),
        "a certificate for another host is refused: {wrong_host:?}"
    );
    let plain = connect(&url("127.0.0.1", "sslmode=disable".into())).await;
    assert!(
        plain.is_err(),
        "the server refuses plain connections: {plain:?}"
    );
    assert_eq!(
        connect(&url("127.0.0.1", "sslmode=prefer".into())).await,
        Ok(true),
        "prefer takes TLS when offered"
    );
    let missing = DatabaseSettings::new(&url(
        "localhost",
        "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem".into(),
    ));
    assert!(missing.unwrap_err().to_string().contains("sslrootcert"));

    // Migrations, the pool and the shared read clients, all over verify-full.
    let settings = DatabaseSettings::new(&url(
        "localhost",
        format!("sslmode=verify-full&sslrootcert={}", ca.display()),
    ))
    .unwrap();
    assert!(db::migrate(&settings).await.unwrap() > 0);
    let repo = Repository::connect(&settings).unwrap();
    let client = settings
        .pg_config()
        .connect(db::tls_connector(&settings).unwrap())
        .await
        .unwrap();
    tokio::spawn(client.1);
    client
        .0
        .batch_execute(
            "INSERT INTO users (clerk_user_id, email) VALUES ('user_tls', 'tls@example.com')",
        )
        .await
        .unwrap();
    let id = ClerkUserId::parse("user_tls").unwrap();
    assert!(
        repo.set_rating(&id, RatingKind::Runner, Rating::parse(4.0).unwrap())
            .await
            .unwrap()
    );
    let user = repo
        .find_user(&id)
        .await
        .unwrap()
        .expect("read on a shared client");
    assert_eq!(user.runner_rating, 4.0);
    repo.ping().await.unwrap();
}
