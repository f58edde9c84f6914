//! The `user-worker` binary's start-up and operation: it waits for the broker
//! and the database and names missing topics, `create-topics` fits the
//! cluster, its probe listener sheds slow clients and its text logs escape
//! hostile fields, and a fenced static member exits. Crashes, scaling and
//! shutdown: `worker.rs`.

use std::time::{Duration, Instant};

use super::worker::{counts, db_with_paid_user, send_many, wait_exit};
use crate::common::kafka::{Topics, WorkerProcess};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_waits_for_broker_and_database_and_names_missing_topics() {
    let db = db_with_paid_user().await;
    let Some(topics) = Topics::create(1).await else {
        return;
    };

    // A missing topic is a clear error naming it.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_user-worker"))
        .envs(topics.env())
        .env("KAFKA_USER_COMMANDS_TOPIC", "no_such_topic_here")
        .env("WORKER_HTTP_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", db.url())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no_such_topic_here") && stderr.contains("do not exist"),
        "{stderr}"
    );

    // No broker yet: it waits and says so, and still stops cleanly.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = topics.env();
    env.retain(|(k, _)| k != "KAFKA_BOOTSTRAP_SERVERS");
    let mut waiting = tokio::process::Command::new(env!("CARGO_BIN_EXE_user-worker"))
        .envs(env)
        .env(
            "KAFKA_BOOTSTRAP_SERVERS",
            format!("127.0.0.1:{closed_port}"),
        )
        .env("DATABASE_URL", db.url())
        .env("LOG_FORMAT", "json")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        waiting.try_wait().unwrap().is_none(),
        "still running, not crash-looping"
    );
    let pid = waiting.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(15), waiting.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("waiting for the Kafka broker"));

    // No database yet: likewise.
    let mut waiting = WorkerProcess::spawn(
        &format!("postgres://postgres@127.0.0.1:{closed_port}/x"),
        &topics,
        "nodb",
    );
    assert!(
        waiting
            .wait_for_log("waiting for the database", Duration::from_secs(10))
            .await
    );
    // Liveness is "the process is not stuck", readiness "it can work": a
    // worker waiting for its database must not be restarted by its probes.
    let addr = waiting
        .logs()
        .lines()
        .filter(|l| l.contains("worker probes and metrics listening"))
        .find_map(|l| {
            let line: serde_json::Value = serde_json::from_str(l).ok()?;
            line["addr"].as_str().map(String::from)
        })
        .expect("the probe address is logged");
    for _ in 0..3 {
        let health = reqwest::get(format!("http://{addr}/health")).await.unwrap();
        let ready = reqwest::get(format!("http://{addr}/ready")).await.unwrap();
        assert_eq!(
            (health.status().as_u16(), ready.status().as_u16()),
            (200, 503)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    waiting.signal("-TERM");
    assert_eq!(
        wait_exit(&mut waiting, Duration::from_secs(15)).await,
        Some(0)
    );
}

/// `create-topics` without REPLICATION takes 3 replicas, or every broker when
/// there are fewer: on the one-broker test cluster that is 1, and it succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_topics_fits_replication_to_the_cluster() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    if Topics::create(1).await.is_none() {
        return;
    }
    let name = format!("ct_{}", uuid::Uuid::new_v4().simple());
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_user-worker"))
        .arg("create-topics")
        .arg("2")
        .env("KAFKA_BOOTSTRAP_SERVERS", crate::common::kafka::bootstrap())
        .env("KAFKA_USER_COMMANDS_TOPIC", format!("{name}_cmd"))
        .env("KAFKA_USER_EVENTS_TOPIC", format!("{name}_evt"))
        .env("KAFKA_DLQ_TOPIC", format!("{name}_dlq"))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let probe: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", crate::common::kafka::bootstrap())
        .create()
        .unwrap();
    let metadata = probe
        .fetch_metadata(Some(&format!("{name}_cmd")), Duration::from_secs(5))
        .unwrap();
    let topic = &metadata.topics()[0];
    assert_eq!(topic.partitions().len(), 2);
    assert_eq!(topic.partitions()[0].replicas().len(), 1);
}

/// Its probe listener is the API's server: slow-header connections are closed
/// after the header-read timeout instead of being held for ever, and the
/// kubelet's `/health` is answered meanwhile. Text logs show a hostile
/// command's `type` escaped and cut short, so it cannot forge log lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_shed_slow_clients_and_text_logs_escape_hostile_fields() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = db_with_paid_user().await;
    let Some(topics) = Topics::create(1).await else {
        return;
    };
    let worker = WorkerProcess::spawn_with(&db.url(), &topics, "probes", &[("LOG_FORMAT", "text")]);
    assert!(
        worker
            .wait_for_log("partitions assigned", Duration::from_secs(30))
            .await
    );
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut conn = tokio::net::TcpStream::connect(worker.http).await.unwrap();
        conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(conn);
    }
    let health = reqwest::get(format!("http://{}/health", worker.http))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let started = Instant::now();
    for mut conn in slow {
        let mut buf = [0u8; 256];
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a slow-header connection was closed");
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    let hostile_type = format!(
        "x\n2026-11-29T00:00:00.000000Z  INFO userlib: FORGED line\u{1b}[31m{}",
        "t".repeat(200_000)
    );
    let command = serde_json::json!({"type": hostile_type, "correlation_id": "c-hostile",
                                     "payload": {"user_id": "user_paid"}});
    topics
        .send_raw("c-hostile", command.to_string().as_bytes())
        .await;
    assert!(
        worker
            .wait_for_log("unknown command type", Duration::from_secs(30))
            .await
    );
    let logs = worker.logs();
    assert!(
        !logs
            .lines()
            .any(|l| l.contains("FORGED") && !l.contains("unknown command type")),
        "no forged line"
    );
    assert!(!logs.contains('\u{1b}'), "no terminal escapes");
    assert!(logs.lines().all(|l| l.len() < 4_000), "no huge line");
}

/// Two live workers with one `KAFKA_GROUP_INSTANCE_ID` (a misconfiguration:
/// Kubernetes gives each pod its own name): the group keeps the newer and
/// fences the older, which exits with an error instead of idling for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_static_member_exits() {
    let db = db_with_paid_user().await;
    let Some(topics) = Topics::create(2).await else {
        return;
    };
    let same = [("KAFKA_GROUP_INSTANCE_ID", "worker-twin")];
    let mut first = WorkerProcess::spawn_with(&db.url(), &topics, "twin1", &same);
    assert!(
        first
            .wait_for_log("partitions assigned", Duration::from_secs(30))
            .await
    );
    let second = WorkerProcess::spawn_with(&db.url(), &topics, "twin2", &same);
    assert!(
        second
            .wait_for_log("partitions assigned", Duration::from_secs(30))
            .await
    );
    let code = wait_exit(&mut first, Duration::from_secs(30)).await;
    assert_ne!(code, Some(0), "the fenced worker exits with an error");
    assert!(first.logs().contains("failed for good"), "{}", first.logs());
    let ids = send_many(&topics, "twin", 20).await;
    let replies = topics.replies_for(&ids, Duration::from_secs(30)).await;
    assert_eq!(
        counts(&replies).len(),
        ids.len(),
        "the remaining worker answers every command"
    );
}
