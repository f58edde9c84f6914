//! Behind a real PgBouncer in transaction mode (Debian's 1.18, which does not
//! track prepared statements), with `DATABASE_POOLER=transaction`: every kind
//! of statement works when consecutive ones land on different server
//! connections, and many clients share a few server connections.
//! (scripts/test also runs the whole API suite behind PgBouncer.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use crate::common::{Options, TestApp, pgbouncer};
use futures_util::future::join_all;
use serde_json::json;

async fn app_behind_pgbouncer(server_connections: u32, env: &[(&str, &str)]) -> Option<TestApp> {
    pgbouncer::binary()?;
    let mut options = Options {
        through_pooler: Some(server_connections),
        ..Default::default()
    };
    options
        .env
        .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Some(TestApp::spawn_with(options).await)
}

/// One user's whole life through the API, every statement kind on the way.
async fn walk(app: &TestApp, n: usize) {
    let id = format!("user_walk{n}");
    let body = json!({"clerk_user_id": id, "email": format!("w{n}@example.com"),
                      "first_name": "Ada", "last_name": "L", "username": format!("walker{n}")});
    for expected_new in [true, false] {
        let (status, answer) = app.post_json("/api/user/sync-from-frontend", &body).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["created"], expected_new, "{answer}");
    }
    let (status, user) = app.get(&format!("/api/user/{id}")).await;
    assert_eq!(
        (status, &user["user"]["username"]),
        (200, &json!(format!("walker{n}")))
    );
    let (status, _) = app
        .get(&format!("/user/{id}?includePaymentDetails=true"))
        .await;
    assert_eq!(status, 200);
    for route in ["update-customer-rating", "update-runner-rating"] {
        let (status, answer) = app
            .post_json(&format!("/api/user/{id}/{route}"), &json!({"rating": 4.5}))
            .await;
        assert_eq!(status, 200, "{route}: {answer}");
    }
    let (status, answer) = app
        .put_json(
            &format!("/api/user/{id}/connect-account"),
            &json!({"stripe_connect_account_id": format!("acct_walk{n}")}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = app.get(&format!("/api/user/{id}/connect-account")).await;
    assert_eq!(
        answer["stripe_connect_account_id"],
        format!("acct_walk{n}"),
        "{status}"
    );
    let (status, answer) = app.delete(&format!("/api/user/{id}/payment")).await;
    assert_eq!(status, 400, "no card yet: {answer}");
    app.store_card(&id, &format!("pm_walk{n}")).await;
    let (status, answer) = app.get(&format!("/api/user/{id}/payment")).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = app.delete(&format!("/api/user/{id}/payment-methods")).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = app
        .post_json(
            "/api/user/temp",
            &json!({"email": format!("t{n}@example.com")}),
        )
        .await;
    assert!(status == 200 || status == 201, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_works_when_each_lands_on_another_server_connection() {
    // Three server connections for a pool of 4 and 4 shared read clients: a
    // statement prepared on one server connection does not exist on the
    // others, so named statements fail on the first interleaving (as this test
    // does with DATABASE_POOLER=none: "prepared statement \"s12\" does not exist").
    let Some(app) = app_behind_pgbouncer(3, &[]).await else {
        return;
    };
    join_all((0..8).map(|n| walk(&app, n))).await;
    let (status, page) = app.get("/api/user/list-users?limit=3").await;
    assert_eq!(status, 200, "{page}");
    let listed = app
        .http
        .get(app.url("/api/user/list-users"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let listed = listed.text().await.unwrap();
    assert!(
        (0..8).all(|n| listed.contains(&format!("user_walk{n}"))),
        "{listed}"
    );
    let (status, _) = app.get("/ready").await;
    assert_eq!(status, 200);
    let log = app.pooler.as_ref().unwrap().log();
    assert!(!log.contains("prepared statement"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_share_five_server_connections() {
    let Some(app) = app_behind_pgbouncer(
        5,
        &[
            ("DATABASE_POOL_SIZE", "200"),
            // 200 connections opened at once on a loaded 2-core machine: a
            // connect whose SYN waited for a retransmission (1 s) must not
            // count as the database being unavailable (seen once in CI).
            ("DATABASE_TIMEOUT_MS", "10000"),
            ("DATABASE_CONNECT_TIMEOUT_MS", "5000"),
        ],
    )
    .await
    else {
        return;
    };
    let bouncer = app.pooler.as_ref().unwrap();
    // Sample the real server and PgBouncer's console while the load runs.
    let done = Arc::new(AtomicBool::new(false));
    let (max_servers, max_clients) = (Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(0)));
    let sampler = {
        let (done, max_servers, max_clients) =
            (done.clone(), max_servers.clone(), max_clients.clone());
        let (db, admin) = (app.db.name.clone(), app.db.client().await);
        let console = bouncer.console();
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let row = admin
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                        &[&db],
                    )
                    .await
                    .unwrap();
                max_servers.fetch_max(row.get(0), Ordering::Relaxed);
                let (clients, _) = console.pools(&db).await;
                max_clients.fetch_max(clients, Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
    };
    let results = join_all((0..200).map(|n| {
        let app = &app;
        async move {
            let id = format!("user_c{n}");
            let mut statuses = Vec::new();
            for round in 0..5 {
                let body = json!({"clerk_user_id": id, "email": format!("c{n}@example.com"),
                                  "first_name": format!("R{round}")});
                statuses.push(app.post_json("/api/user/sync-from-frontend", &body).await);
                statuses.push(app.get(&format!("/api/user/{id}")).await);
                // Syncs share batched statements and reads shared clients; a
                // page of ids takes a pool connection per request.
                statuses.push(
                    app.get(&format!("/api/user/list-users?limit=5&after={id}"))
                        .await,
                );
            }
            statuses
        }
    }))
    .await;
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    let failed: Vec<_> = results
        .concat()
        .into_iter()
        .filter(|(s, _)| *s != 200)
        .map(|(s, body)| format!("{s} {}", body["message"]))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 3000 failed: {failed:?}",
        failed.len()
    );
    assert_eq!(app.count_users().await, 200);
    let (servers, clients) = (
        max_servers.load(Ordering::Relaxed),
        max_clients.load(Ordering::Relaxed),
    );
    assert!(
        servers <= 5,
        "PostgreSQL saw {servers} connections for the database"
    );
    assert!(
        clients > 5 * 4,
        "PgBouncer saw at most {clients} client connections"
    );
    println!("200 HTTP clients: up to {clients} pool connections on {servers} server connections");
}
