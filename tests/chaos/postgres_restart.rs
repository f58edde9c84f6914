//! PostgreSQL stopped (fast, then immediate shutdown) and started again while
//! HTTP clients write and read and the orchestrators' commands keep coming.
//! On a private cluster: the shared server is never touched.

use std::sync::Arc;
use std::time::Duration;

use crate::common::api_process::ApiProcess;
use crate::common::kafka::{Topics, WorkerProcess};
use crate::common::private_pg::PrivateCluster;
use crate::load::{self, CommandLoad, HttpLoad, size};

/// The API's whole-request deadline here: no request may take longer.
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarts_under_api_and_worker_load() {
    let _one = load::one_at_a_time().await;
    let Some(cluster) = PrivateCluster::start_plain() else {
        return;
    };
    let db = load::paid_user_db(&cluster.server_url()).await;
    let Some(topics) = Topics::create(6).await else {
        return;
    };
    let topics = Arc::new(topics);
    let deadline_ms = REQUEST_DEADLINE.as_millis().to_string();
    let mut api = ApiProcess::spawn(&db.url(), &[("HTTP_REQUEST_TIMEOUT_MS", &deadline_ms)]).await;
    let mut worker = WorkerProcess::spawn(&db.url(), &topics, "pg-restart");
    assert!(
        worker
            .wait_for_log("partitions assigned", Duration::from_secs(30))
            .await
    );

    let http = HttpLoad::start(&api.base, 16);
    let commands = CommandLoad::start(topics.clone(), "pgr", size(200, 500), usize::MAX);
    let (outage, between) = size(
        (Duration::from_secs(3), Duration::from_secs(5)),
        (Duration::from_secs(15), Duration::from_secs(20)),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut outages = Vec::new();
    for mode in ["fast", "immediate"] {
        let down = http.started.elapsed();
        cluster.stop(mode);
        tokio::time::sleep(outage).await;
        cluster.start_again();
        let up = http.started.elapsed();
        outages.push((mode, down, up));
        tokio::time::sleep(between).await;
    }
    let samples = http.stop().await;
    let sent = commands.stop().await;

    // HTTP: 200 or 503, nothing else, nothing past the deadline.
    let worst = samples.iter().map(|s| s.latency).max().unwrap();
    let bad: Vec<_> = samples
        .iter()
        .filter(|s| s.status != 200 && s.status != 503)
        .take(5)
        .collect();
    assert!(bad.is_empty(), "only 200s and 503s: {bad:?}");
    assert!(
        worst <= REQUEST_DEADLINE + Duration::from_millis(500),
        "a request took {worst:?}"
    );
    // ...and 200s again soon after each start: report how soon, require it
    // within the pause before the next outage.
    let mut recovered = Vec::new();
    for (i, (mode, _, up)) in outages.iter().enumerate() {
        // Requests sent after the start and answered before the next stop
        // began (one still running then may meet that outage).
        let until = outages.get(i + 1).map_or(Duration::MAX, |next| next.1);
        let window: Vec<_> = samples
            .iter()
            .filter(|s| s.at >= *up && s.at + s.latency < until)
            .collect();
        let last_failure = window.iter().rfind(|s| s.status != 200);
        let after = last_failure.map_or(Duration::ZERO, |s| s.at + s.latency - *up);
        assert!(
            after < between.saturating_sub(Duration::from_secs(1)),
            "{mode}: requests still failed {after:?} after PostgreSQL was back"
        );
        assert!(
            window.len() > 20 && window.iter().rev().take(20).all(|s| s.status == 200),
            "{mode}: served again before the next outage"
        );
        recovered.push((mode, after));
    }
    // Every acknowledged write is still there (a later one may have landed).
    let client = db.client().await;
    for (who, acked) in load::acknowledged_writes(&samples) {
        let row = client
            .query_one(
                "SELECT first_name FROM users WHERE clerk_user_id = $1",
                &[&format!("user_load{who}")],
            )
            .await
            .unwrap();
        let stored: String = row.get(0);
        let stored: u64 = stored.trim_start_matches('v').parse().unwrap();
        assert!(
            stored >= acked,
            "client {who}: v{acked} was acknowledged, v{stored} is stored"
        );
    }
    // The worker answered every command, none with a failure the outage caused.
    let (answered, _) = load::every_command_answered(
        &topics,
        &sent,
        Duration::from_secs(120),
        "after PostgreSQL restarts",
    )
    .await;
    assert!(
        api.is_running(),
        "user-api was not restarted: {}",
        api.logs()
    );
    assert!(
        matches!(worker.child.try_wait(), Ok(None)),
        "user-worker still runs"
    );

    println!(
        "CHAOS postgres-restart: outages {:?} each; HTTP {} requests {:?}, worst {:?}; \
         recovered after {:?}; {} commands, all answered, {} duplicates, p99 {} ms, max {} ms",
        outage,
        samples.len(),
        load::statuses(&samples),
        worst,
        recovered,
        sent.len(),
        answered.duplicates,
        answered.percentile(0.99),
        answered.percentile(1.0),
    );
}
