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
