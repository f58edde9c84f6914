//! Two simultaneous first syncs of one new user: one row, two successful answers.

use crate::common::{TestApp, metric_samples};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_first_syncs_make_one_row() {
    let app = TestApp::spawn().await;
    for round in 0..20 {
        let id = format!("user_race{round}");
        let body = json!({"clerk_user_id": id, "email": format!("race{round}@example.com"),
                          "first_name": "R", "last_name": "C", "phone_number": ""});
        let (a, b) = tokio::join!(
            app.post_json("/api/user/sync-from-frontend", &body),
            app.post_json("/api/user/sync-from-frontend", &body)
        );
        assert_eq!(a.0, 200, "{}", a.1);
        assert_eq!(b.0, 200, "{}", b.1);
        assert_eq!(a.1["success"], true);
        assert_eq!(b.1["success"], true);
        let created = [&a.1, &b.1].iter().filter(|r| r["created"] == true).count();
        assert_eq!(created, 1, "exactly one of the two created the user");
    }
    assert_eq!(app.count_users().await, 20);
}

/// `db_write_batch_size` samples of this process: (writes, batches), and the
/// statements timed by `db_write_batch_duration_seconds`.
async fn batched_so_far(app: &TestApp, write: &str) -> (f64, f64, f64) {
    let samples = metric_samples(&app.metrics_text().await);
    let sample = |name: &str| {
        samples
            .get(&format!("{name}{{write=\"{write}\"}}"))
            .copied()
    };
    (
        sample("db_write_batch_size_sum").unwrap_or(0.0),
        sample("db_write_batch_size_count").unwrap_or(0.0),
        sample("db_write_batch_duration_seconds_count").unwrap_or(0.0),
    )
}

/// Concurrent ratings are applied in shared statements (`db/batch.rs`), yet
/// every caller gets the answer of its own write: 200 for a user that exists,
/// 404 for one that does not, and each user ends with one of the values
/// written to it — exactly it when there was one — on the right column.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ratings_share_statements_and_each_gets_its_own_answer() {
    let app = TestApp::spawn().await;
    for i in 0..40 {
        app.sync_user(&format!("user_r{i}"), &format!("r{i}@example.com"))
            .await;
    }
    let before = batched_so_far(&app, "rating").await;
    // Users 0-9 get three customer ratings each, 10-39 one; runner ratings go
    // to 0-19; 30 requests name users who do not exist.
    let mut writes = Vec::new();
    for round in 0..3 {
        for i in 0..40 {
            if round == 0 || i < 10 {
                writes.push((
                    format!("user_r{i}"),
                    "customer",
                    (i % 5) as f64 + round as f64 * 0.25,
                ));
            }
        }
    }
    for i in 0..20 {
        writes.push((format!("user_r{i}"), "runner", 1.5));
    }
    for i in 0..30 {
        writes.push((format!("user_ghost{i}"), "customer", 3.0));
    }
    let app = &app;
    let answers =
        futures_util::future::join_all(writes.iter().map(|(id, kind, rating)| async move {
            app.post_json(
                &format!("/api/user/{id}/update-{kind}-rating"),
                &json!({ "rating": rating }),
            )
            .await
        }))
        .await;
    for ((id, kind, rating), (status, body)) in writes.iter().zip(&answers) {
        if id.starts_with("user_ghost") {
            assert_eq!(*status, 404, "{id}: {body}");
            assert_eq!(body["success"], false);
        } else {
            assert_eq!(*status, 200, "{id}: {body}");
            let field = format!("{kind}Rating");
            assert_eq!(body[&field], *rating, "{id}: the answer is its own write's");
        }
    }
    for i in 0..40 {
        let row = app.row(&format!("user_r{i}")).await.unwrap();
        let written: Vec<f64> = (0..3)
            .filter(|round| *round == 0 || i < 10)
            .map(|round| (i % 5) as f64 + round as f64 * 0.25)
            .collect();
        let customer = row["customer_rating"].as_f64().unwrap();
        assert!(
            written.contains(&customer),
            "user_r{i}: {customer} not among {written:?}"
        );
        let runner = row["runner_rating"].as_f64().unwrap();
        assert_eq!(
            runner,
            if i < 20 { 1.5 } else { 5.0 },
            "user_r{i}: runner rating"
        );
    }
    assert_eq!(
        app.count_users().await,
        40,
        "no user was created by a rating"
    );
    let after = batched_so_far(app, "rating").await;
    let (rows, statements) = (after.0 - before.0, after.1 - before.1);
    assert!(
        rows >= writes.len() as f64 && statements < rows,
        "{rows} ratings went out in {statements} statements: no batch carried more than one"
    );
    // Other tests of this process write too, so only "timed" is certain.
    assert!(after.2 > before.2, "the statements' durations are recorded");
}

/// Concurrent syncs: updates of existing users share a statement, new users
/// are created among them, and one sync whose email belongs to someone else
/// gets its 409 without failing the others (its batch is applied again item by
/// item) and leaves its row as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_syncs_keep_a_conflict_to_its_own_request() {
    let app = TestApp::spawn().await;
    for i in 0..30 {
        app.sync_user(&format!("user_s{i}"), &format!("s{i}@example.com"))
            .await;
    }
    let taken_before = app.row("user_s1").await.unwrap();
    for round in 0..5 {
        let mut bodies: Vec<serde_json::Value> = (0..30)
            .map(|i| {
                json!({"clerk_user_id": format!("user_s{i}"), "email": format!("s{i}@example.com"),
                       "first_name": format!("Round{round}"), "last_name": format!("L{i}"),
                       "phone_number": format!("+6591{i:06}")})
            })
            .collect();
        for n in 0..5 {
            bodies.push(json!({"clerk_user_id": format!("user_new{round}_{n}"),
                               "email": format!("new{round}_{n}@example.com"), "first_name": "N",
                               "last_name": "U"}));
        }
        // user_s1 tries to take user_s2's email.
        bodies[1]["email"] = json!("s2@example.com");
        let app = &app;
        let answers = futures_util::future::join_all(
            bodies
                .iter()
                .map(|b| async move { app.post_json("/api/user/sync-from-frontend", b).await }),
        )
        .await;
        for (body, (status, answer)) in bodies.iter().zip(&answers) {
            let id = body["clerk_user_id"].as_str().unwrap();
            if id == "user_s1" {
                assert_eq!(*status, 409, "{answer}");
                assert_eq!(answer["success"], false);
                continue;
            }
            assert_eq!(*status, 200, "{id}: {answer}");
            assert_eq!(answer["user"]["clerkUserId"], id);
            assert_eq!(
                answer["user"]["firstName"], body["first_name"],
                "{id}: its own write"
            );
            assert_eq!(answer["user"]["email"], body["email"]);
            assert_eq!(answer["created"], id.starts_with("user_new"), "{id}");
        }
    }
    assert_eq!(
        app.row("user_s1").await.unwrap(),
        taken_before,
        "the refused sync changed nothing"
    );
    let row = app.row("user_s29").await.unwrap();
    assert_eq!(row["first_name"], "Round4");
    assert_eq!(row["phone_number"], "+6591000029");
    assert_eq!(app.count_users().await, 30 + 25);
}

/// Concurrent `GET /user/{id}`s share one `… = ANY($1)` query
/// (`db/read_batch.rs`), yet each answer carries exactly its own row: 3 000
/// concurrent reads of 1 500 users (each twice) and 200 ids that do not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reads_share_queries_and_each_gets_its_own_row() {
    use futures_util::StreamExt;
    let app = TestApp::spawn().await;
    app.db
        .execute(
            "INSERT INTO users (clerk_user_id, email, first_name, last_name) \
             SELECT format('user_read%s', i), format('read%s@example.com', i), \
                    format('First%s', i), 'Reader' FROM generate_series(0, 1499) AS i",
        )
        .await;
    let samples = |text: &str| {
        let s = metric_samples(text);
        (
            s.get("db_read_batch_size_sum").copied().unwrap_or(0.0),
            s.get("db_read_batch_size_count").copied().unwrap_or(0.0),
        )
    };
    let before = samples(&app.metrics_text().await);
    let mut ids: Vec<String> = (0..3000)
        .map(|i| format!("user_read{}", i % 1500))
        .chain((0..200).map(|i| format!("user_unread{i}")))
        .collect();
    // Interleaved, so unknown ids share batches with known ones.
    ids.sort_by_key(|id| id.len() % 7);
    let app = &app;
    let answers: Vec<(String, u16, serde_json::Value)> =
        futures_util::stream::iter(ids.into_iter().map(|id| async move {
            let (status, body) = app.get(&format!("/api/user/{id}")).await;
            (id, status, body)
        }))
        .buffer_unordered(256)
        .collect()
        .await;
    assert_eq!(answers.len(), 3200);
    for (id, status, body) in &answers {
        if let Some(n) = id.strip_prefix("user_read") {
            assert_eq!(*status, 200, "{id}: {body}");
            assert_eq!(body["user"]["clerkUserId"], id.as_str(), "its own row");
            assert_eq!(body["user"]["firstName"], format!("First{n}"));
            assert_eq!(body["user"]["email"], format!("read{n}@example.com"));
        } else {
            assert_eq!(*status, 404, "{id}: {body}");
            assert_eq!(body["message"], "User not found");
        }
    }
    let after = samples(&app.metrics_text().await);
    let (rows, queries) = (after.0 - before.0, after.1 - before.1);
    assert!(
        queries >= 1.0 && rows > queries,
        "reads shared queries: {rows} ids in {queries} queries"
    );
}

/// A read sent after a write's 200 sees that write, with reads of other users
/// batched around it all the while.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_after_a_write_sees_it_while_reads_are_batched() {
    let app = TestApp::spawn().await;
    for i in 0..20 {
        app.sync_user(&format!("user_rw{i}"), &format!("rw{i}@example.com"))
            .await;
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let background: Vec<_> = (0..16)
        .map(|k| {
            let (base, http, stop) = (app.url(""), app.http.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = http
                        .get(format!("{base}/api/user/user_rw{}", (k + n) % 20))
                        .send()
                        .await;
                    n += 1;
                }
            })
        })
        .collect();
    for round in 0..100 {
        let id = format!("user_rw{}", round % 20);
        let rating = (round % 9) as f64 * 0.5;
        let (status, body) = app
            .post_json(
                &format!("/api/user/{id}/update-runner-rating"),
                &json!({ "rating": rating }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = app.get(&format!("/api/user/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["user"]["runnerRating"], rating,
            "round {round}: {body}"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in background {
        task.await.unwrap();
    }
}
