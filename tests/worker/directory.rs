//! The user directory's relay and backfill, in-process, through the real
//! broker: every committed public change reaches the compacted topic in
//! version order, a deletion as a tombstone, and the outbox empties.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::TestDb;
use crate::common::kafka::{InProcessWorker, Record, Topics};
use serde_json::json;
use userlib::config::FromEnv;

fn version(r: &Record) -> i64 {
    r.headers["version"].parse().expect("a version header")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_changes_reach_the_topic_in_order_and_deletions_as_tombstones() {
    let db = TestDb::create_migrated().await;
    let Some(topics) = Topics::create(3).await else {
        return;
    };
    db.execute(
        "INSERT INTO users (clerk_user_id, email, first_name, username) VALUES \
           ('user_a', 'a@example.com', 'Ada', 'ada'), ('user_b', 'b@example.com', 'Bo', NULL); \
         UPDATE users SET first_name = 'Augusta' WHERE clerk_user_id = 'user_a'; \
         UPDATE users SET runner_rating = 4 WHERE clerk_user_id = 'user_a'; \
         DELETE FROM users WHERE clerk_user_id = 'user_b';",
    )
    .await;
    // Its own query string: a BEGIN in a multi-statement string would take
    // the statements before it into the transaction it rolls back.
    db.execute(
        "BEGIN; INSERT INTO users (clerk_user_id, email) VALUES ('user_never', 'n@example.com'); \
         ROLLBACK;",
    )
    .await;
    let worker = InProcessWorker::start(&db.url(), topics.settings());
    let records = topics
        .read_until(&topics.directory, Duration::from_secs(30), |rs| {
            rs.len() >= 4
        })
        .await;
    assert_eq!(records.len(), 4, "{records:?}");
    let by_user = |id: &str| -> Vec<&Record> {
        records
            .iter()
            .filter(|r| r.key.as_deref() == Some(id))
            .collect()
    };
    let a = by_user("user_a");
    assert_eq!(a.len(), 2);
    assert!(version(a[0]) < version(a[1]), "in version order");
    assert_eq!(a[0].json()["firstName"], "Ada");
    let latest = a[1].json();
    assert_eq!(latest["version"], version(a[1]));
    assert!(latest["updatedAt"].is_string());
    let mut latest = latest.as_object().unwrap().clone();
    latest.remove("updatedAt");
    latest.remove("version");
    assert_eq!(
        serde_json::Value::Object(latest),
        json!({"clerkUserId": "user_a", "username": "ada", "firstName": "Augusta", "lastName": ""}),
        "the public view, nothing more"
    );
    let b = by_user("user_b");
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].json()["firstName"], "Bo");
    assert!(b[1].payload.is_empty(), "a deletion is a tombstone");
    assert!(version(b[0]) < version(b[1]));
    assert!(
        by_user("user_never").is_empty(),
        "nothing for a rolled-back write"
    );
    // Each user's records share a partition (keyed), so consumers see them in order.
    assert_eq!(a[0].partition, a[1].partition);

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while db.directory_outbox_len().await > 0 {
        assert!(std::time::Instant::now() < deadline, "the outbox empties");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_directory_backfills_every_user_while_the_relay_runs() {
    let db = TestDb::create_migrated().await;
    let Some(topics) = Topics::create(3).await else {
        return;
    };
    db.execute(
        "INSERT INTO users (clerk_user_id, email, first_name) \
         SELECT 'user_' || lpad(i::text, 5, '0'), 'u' || i || '@example.com', 'N' || i \
         FROM generate_series(1, 2500) AS i; \
         DELETE FROM user_directory_outbox;",
    )
    .await;
    let worker = InProcessWorker::start(&db.url(), topics.settings());
    // A change while the backfill runs is published too, and last.
    let renamer = {
        let db_url = db.url();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let (client, conn) = tokio_postgres::connect(&db_url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client
                .execute(
                    "UPDATE users SET first_name = 'Renamed' WHERE clerk_user_id = 'user_02500'",
                    &[],
                )
                .await
                .unwrap();
        })
    };
    let config = userlib::config::WorkerConfig {
        database: userlib::config::DatabaseSettings::new(&db.url())
            .unwrap()
            .with_pool_size(2),
        kafka: topics.settings(),
        ..userlib::config::WorkerConfig::from_vars([]).unwrap()
    };
    let published = userlib::startup::worker::publish_directory(&config)
        .await
        .unwrap();
    assert_eq!(published, 2500);
    renamer.await.unwrap();
    let records = topics
        .read_until(&topics.directory, Duration::from_secs(30), |rs| {
            rs.len() >= 2501
        })
        .await;
    let mut last: HashMap<String, (i64, String)> = HashMap::new();
    for r in &records {
        let v = version(r);
        let first = r.json()["firstName"].as_str().unwrap().to_owned();
        let entry = last
            .entry(r.key.clone().unwrap())
            .or_insert((v, first.clone()));
        assert!(v >= entry.0, "versions never go backwards");
        *entry = (v, first);
    }
    assert_eq!(last.len(), 2500, "every user");
    assert_eq!(last["user_02500"].1, "Renamed", "the latest state wins");
    assert_eq!(last["user_00001"].1, "N1");
    assert_eq!(db.directory_outbox_len().await, 0);
    worker.stop().await;
}
