//! The database goes away (the harness cuts a TCP proxy; the shared server keeps
//! running): endpoints answer 503 JSON within 2 s, readiness fails, liveness does
//! not, nothing is written; when it comes back, the very next request succeeds,
//! even on a connection that died unnoticed.

use std::time::{Duration, Instant};

use crate::common::{TestApp, assert_error};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_503_while_down_and_recovers_without_restart() {
    let app = TestApp::spawn_behind_proxy().await;
    app.sync_user("user_up", "up@example.com").await;
    let (status, _) = app.get("/ready").await;
    assert_eq!(status, 200);
    let before = app.snapshot().await;

    let proxy = app.proxy.as_ref().unwrap();
    proxy.cut();

    let requests: Vec<(Method, &str, Option<serde_json::Value>)> = vec![
        (Method::GET, "/api/user/user_up", None),
        (Method::GET, "/user/user_up/payment", None),
        (Method::GET, "/user/user_up/connect-account", None),
        (Method::GET, "/user/list-users", None),
        (Method::GET, "/user/list-users?limit=10", None),
        (
            Method::POST,
            "/user/user_up/update-runner-rating",
            Some(json!({"rating": 1})),
        ),
        (
            Method::PUT,
            "/user/user_up/connect-account",
            Some(json!({"stripe_connect_account_id": "acct_9"})),
        ),
        (Method::DELETE, "/user/user_up/payment", None),
        (
            Method::POST,
            "/user/temp",
            Some(json!({"email": "t@example.com"})),
        ),
        (
            Method::POST,
            "/api/user/sync-from-frontend",
            Some(json!({"clerk_user_id": "user_up", "email": "changed@example.com"})),
        ),
    ];
    for (method, path, body) in &requests {
        let started = Instant::now();
        let got = match body {
            Some(b) => {
                app.send_raw(
                    method.clone(),
                    path,
                    Some("application/json"),
                    serde_json::to_vec(b).unwrap(),
                )
                .await
            }
            None => app.send_raw(method.clone(), path, None, Vec::new()).await,
        };
        let took = started.elapsed();
        assert_error(&got, 503);
        assert!(
            took < Duration::from_secs(2),
            "{method} {path} took {took:?}"
        );
    }
    let (status, body) = app.get("/ready").await;
    assert_eq!((status, body["success"].clone()), (503, json!(false)));
    let (status, _) = app.get("/health").await;
    assert_eq!(status, 200, "liveness does not depend on the database");

    proxy.restore();
    // No warm-up, no retry: the first request after the outage must succeed.
    let (status, body) = app.get("/api/user/user_up").await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.get("/ready").await;
    assert_eq!(status, 200);
    assert_eq!(
        app.snapshot().await,
        before,
        "nothing was written while down"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_outage_is_survived_too() {
    let app = TestApp::spawn_behind_proxy().await;
    app.sync_user("user_flap", "flap@example.com").await;
    let proxy = app.proxy.as_ref().unwrap();
    for _ in 0..3 {
        proxy.cut();
        assert_error(&app.get("/user/user_flap").await, 503);
        proxy.restore();
        let (status, body) = app.get("/user/user_flap").await;
        assert_eq!(status, 200, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_on_a_connection_that_died_unnoticed_succeeds() {
    let app = TestApp::spawn_behind_proxy().await;
    app.sync_user("user_stale", "stale@example.com").await;
    // Every shared read client is open and has answered once.
    for _ in 0..4 {
        let (status, body) = app.get("/user/user_stale").await;
        assert_eq!(status, 200, "{body}");
    }
    let proxy = app.proxy.as_ref().unwrap();
    for _ in 0..2 {
        proxy.break_idle();
        // Each client finds out only now, on its next read, which must not fail.
        for _ in 0..4 {
            let (status, body) = app.get("/user/user_stale").await;
            assert_eq!(status, 200, "{body}");
        }
        let (status, _) = app.get("/ready").await;
        assert_eq!(status, 200);
    }
}
