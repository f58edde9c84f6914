//! The `user-api` binary as Kubernetes runs it: configuration errors stop it with
//! one line, `migrate` migrates and exits, SIGTERM drains in-flight requests and
//! exits 0.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_user-api");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `/ready` at `base` until it answers 200 (at most 20 s).
async fn wait_until_ready(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !http
        .get(format!("{base}/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(Instant::now() < deadline, "user-api did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn invalid_configuration_stops_start_up_with_one_line_naming_the_variable() {
    for (var, value) in [
        ("DATABASE_POOL_SIZE", "lots"),
        ("LISTEN_ADDR", "nowhere"),
        ("LOG_FORMAT", "xml"),
        ("DATABASE_URL", "mysql://root@db"),
    ] {
        let out = Command::new(BIN)
            .env("AUTH_MODE", "none")
            .env(var, value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(var), "{stderr}");
    }
}

#[tokio::test]
async fn migrate_subcommand_applies_migrations_and_exits() {
    let db = TestDb::create().await;
    let status = tokio::process::Command::new(BIN)
        .arg("migrate")
        .env("DATABASE_URL", db.url())
        .stdout(Stdio::null())
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let client = db.client().await;
    let n: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "the users table exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_then_exits_zero() {
    let db = TestDb::create().await;
    let port = free_port();
    let mut child = tokio::process::Command::new(BIN)
        .env("DATABASE_URL", db.url())
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("AUTH_MODE", "none")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_until_ready(&http, &base).await;
    // Enough ids that the list does not fit in socket buffers: the response stays
    // in flight while we do not read it.
    db.client()
        .await
        .execute(
            "INSERT INTO users (clerk_user_id, email) SELECT 'user_' || lpad(i::text, 7, '0'), \
             'u' || i || '@example.com' FROM generate_series(1, 200000) AS i",
            &[],
        )
        .await
        .unwrap();

    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    conn.write_all(b"GET /api/user/list-users HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 64];
    let n = conn.read(&mut first).await.unwrap();
    assert!(
        first[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&first[..n])
    );

    let pid = child.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    // New connections are no longer accepted...
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
    );
    // ...but the in-flight response is completed.
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).await.unwrap();
    let all = [&first[..n], &rest[..]].concat();
    let text = String::from_utf8_lossy(&all);
    assert!(
        text.contains("\"user_0200000\"]}"),
        "the whole list arrived"
    );
    assert!(
        text.ends_with("0\r\n\r\n"),
        "the chunked body was terminated properly"
    );

    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits promptly after draining")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// Every `RUST_LOG` a manifest under deploy/ ships (the base ConfigMap, each
/// overlay), as `KEY=value` literals or `KEY: value` entries.
fn shipped_log_filters() -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy"
    ))];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                for line in std::fs::read_to_string(&path).unwrap().lines() {
                    let line = line.trim().trim_start_matches("- ");
                    if let Some(v) = line
                        .strip_prefix("RUST_LOG=")
                        .or_else(|| line.strip_prefix("RUST_LOG:"))
                    {
                        found.push(v.trim().trim_matches('"').to_owned());
                    }
                }
            }
        }
    }
    found
}

/// The dev overlay shipped `RUST_LOG=debug`, at which tokio-postgres logs every
/// SQL parameter: emails, phone numbers, Stripe ids. Run the binary at each
/// level a manifest ships, sync a user, and read everything it logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_log_levels_keep_personal_data_out_of_the_logs() {
    let filters = shipped_log_filters();
    assert!(filters.len() >= 2, "base and dev set RUST_LOG: {filters:?}");
    let email = "pii.probe@example.com";
    let phone = "+6598765432";
    for filter in filters {
        let db = TestDb::create().await;
        let port = free_port();
        let log = std::env::temp_dir().join(format!("userlib-pii-{port}.log"));
        let mut child = tokio::process::Command::new(BIN)
            .env("DATABASE_URL", db.url())
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("AUTH_MODE", "none")
            .env("RUST_LOG", &filter)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        wait_until_ready(&http, &base).await;
        let sync = serde_json::json!({"clerk_user_id": "user_pii", "email": email,
            "first_name": "Probe", "last_name": "Person", "phone_number": phone, "username": "probe"});
        let resp = http
            .post(format!("{base}/api/user/sync-from-frontend"))
            .json(&sync)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let resp = http
            .get(format!("{base}/api/user/user_pii"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        Command::new("kill")
            .args(["-TERM", &child.id().unwrap().to_string()])
            .status()
            .unwrap();
        assert_eq!(child.wait().await.unwrap().code(), Some(0));
        let logged = std::fs::read_to_string(&log).unwrap();
        let _ = std::fs::remove_file(&log);
        assert!(
            logged.contains("request"),
            "RUST_LOG={filter}: the run did log"
        );
        for secret in [email, phone] {
            assert!(
                !logged.contains(secret),
                "RUST_LOG={filter} logs personal data ({secret}):\n{}",
                logged
                    .lines()
                    .filter(|l| l.contains(secret))
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

/// Descriptor exhaustion: with a descriptor limit below `HTTP_MAX_CONNECTIONS`,
/// idle connections used to take every descriptor, after which nothing could
/// be accepted at all. The cap is lowered to fit the limit, so a client over
/// it still gets a fast 503, and service recovers when the idle ones leave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_descriptor_limit_below_the_connection_cap_cannot_be_exhausted() {
    let db = TestDb::create().await;
    let port = free_port();
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n 300 && exec {BIN}"))
        .env("DATABASE_URL", db.url())
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("AUTH_MODE", "none")
        .env("RUST_LOG", "warn")
        .env("HTTP_MAX_CONNECTIONS", "1000")
        .env("HTTP_HEADER_READ_TIMEOUT_MS", "60000")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let fresh = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap()
    };
    wait_until_ready(&fresh(), &base).await;
    let mut idle = Vec::new();
    for _ in 0..400 {
        let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
        match tokio::time::timeout(Duration::from_secs(2), connect).await {
            Ok(Ok(conn)) => idle.push(conn),
            _ => panic!("the server stopped accepting connections"),
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let resp = fresh().get(format!("{base}/health")).send().await;
    let status = resp.map(|r| r.status().as_u16());
    assert_eq!(status.ok(), Some(503), "refused fast, not left hanging");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if fresh()
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        assert!(Instant::now() < deadline, "service did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().await.unwrap().code(), Some(0));
}
