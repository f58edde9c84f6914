//! What operators rely on: the OpenAPI document matches the router both ways,
//! `/docs`, Prometheus metrics of both binaries, JSON logs with request and
//! correlation ids, and the worker's probes.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use crate::common::kafka::Topics;
use crate::common::{TestApp, TestDb, metric_samples as samples};
use reqwest::Method;
use serde_json::Value;
use userlib::http::ROUTES;

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.replace("{clerk_user_id}", "{id}")))
        })
        .collect()
}

#[tokio::test]
async fn the_openapi_document_names_exactly_the_served_routes() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let (_, under_api) = app.get("/api/openapi.json").await;
    assert_eq!(doc, under_api);

    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented(&doc), routes, "document and route table differ");

    // Every listed route is served: the router does not answer its own
    // "Not found" / "Method not allowed" for it, at either prefix.
    let is_routing_miss = |status: u16, body: &Value| {
        (status == 404 && body["message"] == "Not found")
            || (status == 405 && body["message"] == "Method not allowed")
    };
    let paths: BTreeSet<&str> = ROUTES.iter().map(|(_, p)| *p).collect();
    for prefix in ["", "/api"] {
        for path in &paths {
            let concrete = format!("{prefix}{}", path.replace("{id}", "user_probe"));
            for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
                let resp = app
                    .http
                    .request(
                        Method::from_bytes(method.as_bytes()).unwrap(),
                        app.url(&concrete),
                    )
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                // Served exactly when a listed route (any template matching this
                // path, e.g. GET /user/{id} for /user/temp) has this method: so
                // nothing is served that the document does not name.
                let listed = routes
                    .iter()
                    .any(|(m, t)| m == method && userlib::http::template_matches(t, &concrete));
                assert_eq!(
                    !is_routing_miss(status, &body),
                    listed,
                    "{method} {concrete}: {status} {body}"
                );
            }
        }
    }
}

#[tokio::test]
async fn docs_page_loads_the_document() {
    let app = TestApp::spawn().await;
    let resp = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let page = resp.text().await.unwrap();
    assert!(page.contains("openapi.json"));
    assert!(page.contains("integrity=\"sha384-"), "pinned with SRI");
    assert!(
        !page.contains("swagger-ui-dist@5/"),
        "no floating major version"
    );
}

#[tokio::test]
async fn api_metrics_count_requests_by_route_template_and_status() {
    let app = TestApp::spawn().await;
    let scrape = || async {
        let text = app.metrics_text().await;
        assert!(
            !text.contains("user_metrics"),
            "raw paths never become labels"
        );
        samples(&text)
    };
    // The recorder is process-wide and other tests run alongside: compare
    // this test's own requests against a scrape taken before them.
    let ok = r#"http_requests_total{route="/user/{id}",method="GET",status="200"}"#;
    let missing = r#"http_requests_total{route="/user/{id}",method="GET",status="404"}"#;
    let sync =
        r#"http_requests_total{route="/user/sync-from-frontend",method="POST",status="200"}"#;
    let before = scrape().await;
    app.sync_user("user_metrics", "metrics@example.com").await;
    for _ in 0..3 {
        app.get("/api/user/user_metrics").await;
    }
    app.get("/user/user_nobody_here").await;
    let after = scrape().await;
    let grew = |series: &str| {
        after.get(series).copied().unwrap_or(0.0) - before.get(series).copied().unwrap_or(0.0)
    };
    assert!(grew(ok) >= 3.0, "{ok}: {after:?}");
    assert!(grew(missing) >= 1.0, "{missing}");
    assert!(grew(sync) >= 1.0, "{sync}");
    let bucket = r#"http_request_duration_seconds_bucket{route="/user/{id}",method="GET",status="200",le="+Inf"}"#;
    assert!(
        after[bucket] >= after[ok],
        "every request is in the +Inf bucket"
    );
    for gauge in [
        r#"db_pool_connections{state="idle"}"#,
        r#"db_pool_connections{state="in_use"}"#,
        "db_pool_waiting",
    ] {
        let value = after
            .get(gauge)
            .unwrap_or_else(|| panic!("no {gauge} sample"));
        assert!(*value >= 0.0 && value.fract() == 0.0, "{gauge} = {value}");
    }
    assert!(
        after[r#"db_pool_connections{state="idle"}"#]
            + after[r#"db_pool_connections{state="in_use"}"#]
            >= 1.0,
        "the requests above opened at least one pooled connection"
    );
}

#[tokio::test]
async fn json_logs_carry_request_id_route_status_and_latency() {
    let db = TestDb::create_migrated().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_user-api"))
        .env("DATABASE_URL", db.url())
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("AUTH_MODE", "none")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("MIGRATE_ON_START", "false")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/user/user_logged");
    let mut answered = false;
    for _ in 0..100 {
        if let Ok(r) = http
            .get(&url)
            .header("x-request-id", "req-abc-123")
            .send()
            .await
        {
            assert_eq!(r.status(), 404);
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered);
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|_| panic!("one JSON object per line: {l}"))
        })
        .collect();
    let access = lines
        .iter()
        .find(|l| l["span"]["request_id"] == "req-abc-123" && l["message"] == "request")
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert_eq!(access["route"], "/user/{id}");
    assert_eq!(access["status"], 404);
    assert!(access["latency_us"].as_u64().is_some());
    assert!(access["timestamp"].is_string() && access["level"] == "INFO");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_serves_probes_metrics_and_logs_correlation_ids() {
    let db = TestDb::create_migrated().await;
    db.insert_paid_user("user_paid").await;
    let Some(topics) = Topics::create(1).await else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::env::temp_dir().join(format!("{}-probe.log", topics.group));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_user-worker"))
        .envs(topics.env())
        .env("DATABASE_URL", db.url())
        .env("WORKER_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info,userlib::worker=debug")
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("http://127.0.0.1:{port}{path}")).send();

    // Ready once partitions are assigned and the database answers.
    let mut ready = false;
    for _ in 0..150 {
        if let Ok(r) = get("/ready").await {
            if r.status() == 200 {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "worker became ready");
    assert_eq!(get("/health").await.unwrap().status(), 200);

    topics.send_command("c-metrics-1", "user_paid").await;
    topics.send_command("c-metrics-2", "user_ghost").await;
    topics.send_raw("x", b"poison").await;
    let expected = ["c-metrics-1".to_string(), "c-metrics-2".to_string()];
    assert_eq!(
        topics
            .replies_for(&expected, Duration::from_secs(30))
            .await
            .len(),
        2
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    let text = get("/metrics").await.unwrap().text().await.unwrap();
    let worker = samples(&text);
    // The worker is its own process: these counts are exactly this test's.
    for (series, want) in [
        (r#"worker_messages_total{outcome="retrieved"}"#, 1.0),
        (r#"worker_messages_total{outcome="failed"}"#, 1.0),
        (r#"worker_messages_total{outcome="dead_lettered"}"#, 1.0),
        ("worker_processing_latency_seconds_count", 3.0),
    ] {
        assert_eq!(worker.get(series), Some(&want), "{series} in:\n{text}");
    }
    assert!(
        worker
            .get("worker_batch_size_count")
            .is_some_and(|n| *n >= 1.0),
        "{text}"
    );

    std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().await.unwrap().code(), Some(0));
    let logs = std::fs::read_to_string(&log).unwrap();
    let reply = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["correlation_id"] == "c-metrics-1")
        .expect("a log line for the command");
    assert!(
        reply["partition"].is_number() && reply["offset"].is_number(),
        "{reply}"
    );
}

/// With `METRICS_ADDR`, `/metrics` (and the probes) move to an internal
/// listener, and the API port, which faces the Internet, no longer serves it.
#[tokio::test]
async fn metrics_can_live_on_an_internal_listener_only() {
    let app = TestApp::spawn_with(crate::common::Options {
        env: vec![
            ("AUTH_MODE".into(), "none".into()),
            ("METRICS_ADDR".into(), "127.0.0.1:0".into()),
        ],
        ..Default::default()
    })
    .await;
    let internal = app.internal_addr.expect("an internal listener");
    app.get("/health").await;
    let (status, _) = app.get("/metrics").await;
    assert_eq!(status, 404, "not on the API port");
    let (status, _) = app.get("/api/metrics").await;
    assert_eq!(status, 404);
    let text = app
        .http
        .get(format!("http://{internal}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted = samples(&text);
    assert!(
        counted
            .keys()
            .any(|k| k.starts_with("http_requests_total{route=\"/health\"")),
        "the internal listener serves the API's metrics:\n{text}"
    );
    for probe in ["/health", "/ready"] {
        let status = app
            .http
            .get(format!("http://{internal}{probe}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200, "{probe}");
    }
}
