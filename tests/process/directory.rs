//! The user directory end to end, as another service consumes it: a random
//! workload through the API (creates, renames, temporary users, Clerk's
//! signed deletions) and the legacy importer, while the worker that relays
//! the outbox is killed with `kill -9` at random moments; then the
//! orchestrators' own Kafka client (kafka-python) materialises the topic,
//! and it must equal what `GET /users/public` answers for every id — deleted
//! users absent, replays allowed, no version ever followed by an older one
//! that was not a replay.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};
use userlib::config::DatabaseSettings;
use userlib::db::Repository;
use userlib::legacy::{ImportOptions, import};

use crate::common::clerk::{self, SERVICE_TOKEN, svix_signature};
use crate::common::kafka::{Topics, WorkerProcess};
use crate::common::{Options, TestApp, TestDb};

/// A small deterministic generator: the seed is printed, a failure replays.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// A profile sync with a service token; its status.
async fn sync(app: &TestApp, body: &Value) -> u16 {
    app.http
        .post(app.url("/user/sync-from-frontend"))
        .bearer_auth(SERVICE_TOKEN)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn clerk_delete(app: &TestApp, id: &str, n: u64) -> u16 {
    let body = json!({"type": "user.deleted", "data": {"id": id, "deleted": true}}).to_string();
    let ts = clerk::now();
    let msg = format!("msg_{n}");
    app.http
        .post(app.url("/webhooks/clerk"))
        .header("content-type", "application/json")
        .header("svix-id", &msg)
        .header("svix-timestamp", ts.to_string())
        .header("svix-signature", svix_signature(&msg, ts, &body))
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A Flask-era database holding `ids` (newer than anything here: the import
/// takes their names).
async fn legacy_with(ids: &[String]) -> TestDb {
    let legacy = TestDb::create().await;
    let client = legacy.client().await;
    client
        .batch_execute(include_str!("../fixtures/legacy_schema.sql"))
        .await
        .unwrap();
    for id in ids {
        client
            .execute(
                "INSERT INTO users (clerk_user_id, email, first_name, last_name, created_at, updated_at) \
                 VALUES ($1::text, $1::text || '@legacy.example.com', 'Imported', $1::text, \
                   now()::timestamp + interval '1 hour', now()::timestamp + interval '1 hour')",
                &[id],
            )
            .await
            .unwrap();
    }
    legacy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_materialises_exactly_the_public_views_while_the_relay_is_killed() {
    let Some(python) = crate::common::real_client("KAFKA_PYTHON", &[]) else {
        return;
    };
    let Some(topics) = Topics::create(3).await else {
        return;
    };
    let jwks = clerk::jwks_server().await;
    let app = TestApp::spawn_with(Options {
        env: clerk::env(&jwks),
        ..Default::default()
    })
    .await;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("directory workload seed {seed}");
    let mut rng = Lcg(seed);

    let mut worker = WorkerProcess::spawn(&app.db.url(), &topics, "relay-0");
    let users: Vec<String> = (0..80).map(|i| format!("user_dir{i:02}")).collect();
    let mut every_id: BTreeSet<String> = users.iter().cloned().collect();
    let mut kills = 0;
    let mut next_kill = 40 + rng.below(80);
    for step in 0..600u64 {
        let id = &users[rng.below(users.len() as u64) as usize];
        match rng.below(10) {
            0..=3 => {
                let body = json!({"clerk_user_id": id, "email": format!("{id}@example.com"),
                                  "first_name": format!("F{}", rng.below(1000)),
                                  "last_name": "L", "username": format!("{id}_u")});
                let status = sync(&app, &body).await;
                // 410 once Clerk deleted the user: never created again.
                assert!(matches!(status, 200 | 410), "sync: {status}");
            }
            4..=6 => {
                let body =
                    json!({"clerk_user_id": id, "first_name": format!("R{}", rng.below(1000))});
                let status = sync(&app, &body).await;
                assert!(matches!(status, 200 | 400 | 410), "rename: {status}");
            }
            7 => {
                let body = json!({"email": format!("t{step}@example.com"), "first_name": "Temp"});
                let resp = app
                    .http
                    .post(app.url("/user/temp"))
                    .bearer_auth(SERVICE_TOKEN)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 201);
                let body: Value = resp.json().await.unwrap();
                every_id.insert(body["user"]["clerk_user_id"].as_str().unwrap().to_owned());
            }
            8 => {
                let status = clerk_delete(&app, id, step).await;
                assert_eq!(status, 200);
            }
            _ => {
                // The importer brings a few users across (and renames them).
                let ids: Vec<String> = (0..3)
                    .map(|_| users[rng.below(users.len() as u64) as usize].clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let legacy = legacy_with(&ids).await;
                let settings = DatabaseSettings::new(&app.db.url()).unwrap();
                let repo = Repository::connect(&settings).unwrap();
                let report = std::env::temp_dir().join(format!("dir-import-{seed}-{step}.jsonl"));
                import(
                    &ImportOptions {
                        legacy_url: legacy.url(),
                        dry_run: false,
                        report_path: report.clone(),
                    },
                    Some(&repo),
                )
                .await
                .expect("import runs");
                let _ = std::fs::remove_file(report);
            }
        }
        if step == next_kill && kills < 5 {
            worker.signal("-9");
            let _ = worker.child.wait().await;
            kills += 1;
            worker = WorkerProcess::spawn(&app.db.url(), &topics, &format!("relay-{kills}"));
            next_kill = step + 40 + rng.below(80);
        }
    }
    assert!(
        kills >= 3,
        "the relay was killed mid-workload ({kills} times)"
    );

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while app.db.directory_outbox_len().await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the relay empties the outbox"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let out = tokio::process::Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/directory_consumer.py"
        ))
        .args([&topics.bootstrap, &topics.directory, "3"])
        .output()
        .await
        .expect("the consumer runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let consumed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(consumed["problems"], json!([]), "seed {seed}");
    let mut materialised: BTreeMap<String, Value> = BTreeMap::new();
    for (id, view) in consumed["directory"].as_object().unwrap() {
        let mut view = view.as_object().unwrap().clone();
        view.remove("version");
        view.remove("updatedAt");
        materialised.insert(id.clone(), Value::Object(view));
    }

    let mut expected: BTreeMap<String, Value> = BTreeMap::new();
    let ids: Vec<&String> = every_id.iter().collect();
    for chunk in ids.chunks(100) {
        let joined: Vec<&str> = chunk.iter().map(|s| s.as_str()).collect();
        let resp = app
            .http
            .get(app.url(&format!("/users/public?ids={}", joined.join(","))))
            .bearer_auth(SERVICE_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        for user in body["users"].as_array().unwrap() {
            expected.insert(
                user["clerkUserId"].as_str().unwrap().to_owned(),
                user.clone(),
            );
        }
    }
    assert!(
        expected.len() > 10,
        "the workload left users ({})",
        expected.len()
    );
    assert!(
        expected.len() < every_id.len(),
        "and deleted some ({} of {})",
        every_id.len() - expected.len(),
        every_id.len()
    );
    assert_eq!(materialised, expected, "seed {seed}");
    println!(
        "directory: {} users, {} records, {} replays, {kills} relay kills",
        expected.len(),
        consumed["records"],
        consumed["replays"]
    );
    drop(worker);
}
