//! Migrations: idempotent, and safe when several replicas start at once.

use crate::common::TestDb;
use userlib::config::DatabaseSettings;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_apply_once() {
    let db = TestDb::create().await;
    let settings = DatabaseSettings::new(&db.url()).unwrap();
    let runs = (0..4).map(|_| {
        let s = settings.clone();
        tokio::spawn(async move { userlib::db::migrate(&s).await })
    });
    let mut applied = Vec::new();
    for run in runs {
        applied.push(
            run.await
                .unwrap()
                .expect("every replica's migration succeeds"),
        );
    }
    applied.sort();
    assert_eq!(
        applied.iter().sum::<usize>(),
        applied[3],
        "only one run applied anything"
    );
    assert!(applied[3] >= 1);

    let client = db.client().await;
    let n: i64 = client
        .query_one("SELECT count(*) FROM refinery_schema_history", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n as usize, applied[3]);
    assert_eq!(
        userlib::db::migrate(&settings).await.unwrap(),
        0,
        "a second run has nothing to do"
    );
}

/// A pod of a new release must not take traffic before the migration Job has
/// brought the schema to its migrations (deploy/k8s: the Job runs per release).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_until_the_schema_has_this_releases_migrations() {
    let app = crate::common::TestApp::spawn().await;
    let latest = userlib::db::latest_version();
    // The database as the previous release left it: the newest migration unapplied
    // (its row hidden under a negative version).
    app.db
        .execute(&format!(
            "UPDATE refinery_schema_history SET version = -version WHERE version = {latest}"
        ))
        .await;
    let (status, body) = app.get("/ready").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (503, Some("Database schema is older than this release")),
        "{body}"
    );
    let (status, _) = app.get("/health").await;
    assert_eq!(status, 200, "liveness does not depend on the schema");
    // The migration Job has run.
    app.db
        .execute("UPDATE refinery_schema_history SET version = -version WHERE version < 0")
        .await;
    tokio::time::sleep(userlib::service::READY_TTL).await;
    let (status, body) = app.get("/ready").await;
    assert_eq!(status, 200, "{body}");

    // A database without any migration is not ready either.
    let fresh = crate::common::TestApp::spawn().await;
    fresh.db.execute("DROP TABLE refinery_schema_history").await;
    let (status, _) = fresh.get("/ready").await;
    assert_eq!(status, 503);
}
