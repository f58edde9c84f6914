//! The broker unreachable mid-stream: a broker of the test's own advertises a
//! TCP proxy's address, so every client (the worker, the producer, the reply
//! reader) goes through the proxy, and cutting it closes every connection and
//! refuses new ones for the outage.

use std::sync::Arc;
use std::time::Duration;

use crate::common::kafka::{PrivateBroker, Topics, WorkerProcess};
use crate::common::{Proxy, free_port};
use crate::load::{self, CommandLoad, now_ms, size};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outages_mid_stream_lose_nothing() {
    let _one = load::one_at_a_time().await;
    let db = load::paid_user_db(&crate::common::pg_server_url()).await;
    let port = free_port();
    let proxy = Proxy::start(&format!("127.0.0.1:{port}")).await;
    let Some(_broker) = PrivateBroker::start(port, proxy.addr()) else {
        return;
    };
    let topics = Arc::new(Topics::create_on(&proxy.addr().to_string(), 6).await);
    let mut worker = WorkerProcess::spawn(&db.url(), &topics, "outage");
    assert!(
        worker
            .wait_for_log("partitions assigned", Duration::from_secs(30))
            .await
    );

    let commands = CommandLoad::start(topics.clone(), "out", 200, usize::MAX);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let outages: Vec<u64> = size(vec![10], vec![10, 60]);
    let mut windows = Vec::new();
    for secs in &outages {
        let cut_at = now_ms();
        proxy.cut();
        tokio::time::sleep(Duration::from_secs(*secs)).await;
        proxy.restore();
        windows.push((*secs, cut_at, now_ms()));
        tokio::time::sleep(Duration::from_secs(size(5, 20))).await;
    }
    let sent = commands.stop().await;
    let (answered, _) = load::every_command_answered(
        &topics,
        &sent,
        Duration::from_secs(180),
        "after the broker came back",
    )
    .await;
    assert!(
        matches!(worker.child.try_wait(), Ok(None)),
        "the worker rode the outage out without exiting"
    );
    // How long after the restore the backlog of the outage was answered, and
    // how long a command sent right after the restore waited: the outage + 2 s
    // (librdkafka's default backoff made it 8-10 s). An outage longer than the
    // session (6 s) empties the group, and the broker holds the first join of
    // an empty group for its group.initial.rebalance.delay.ms: no client
    // setting removes that (docs/worker.md). At a broker's default (Kafka's
    // and nisshi's 3 s) the scenario allows that delay on top; the chaos
    // suite runs its broker at the setting docs/worker.md recommends
    // (GROUP_INITIAL_REBALANCE_DELAY, a few hundred ms), where the outage
    // + 2 s holds as it is. The short form, on a CI machine running other
    // suites beside it, has 2 s more.
    let broker_delay_ms = broker_initial_rebalance_delay_ms();
    let allowed_broker_ms = if broker_delay_ms > 500 {
        broker_delay_ms
    } else {
        0
    };
    let slack_ms = size(4_000, 2_000) + allowed_broker_ms;
    let mut caught_up = Vec::new();
    for (secs, cut, up) in &windows {
        let during = answered.worst_sent_between(*cut, *up);
        let after = answered.worst_sent_between(*up, up + 5_000);
        caught_up.push(format!(
            "{secs} s cut: worst wait {during} ms = outage + {} ms, sent in the 5 s after: {after} ms",
            during - (up - cut)
        ));
        assert!(
            during - (up - cut) <= slack_ms && after <= slack_ms,
            "answered within the outage + {slack_ms} ms: {caught_up:?}"
        );
    }
    println!(
        "CHAOS broker-outage: {} commands at 200/s, all answered, {} duplicates, broker \
         group.initial.rebalance.delay.ms {broker_delay_ms}; {}",
        sent.len(),
        answered.duplicates,
        caught_up.join("; ")
    );
}

/// The private broker's `GROUP_INITIAL_REBALANCE_DELAY` (it inherits the
/// test's environment): `300ms`, `0s`; nisshi's default 3 s when unset.
fn broker_initial_rebalance_delay_ms() -> i64 {
    let Ok(v) = std::env::var("GROUP_INITIAL_REBALANCE_DELAY") else {
        return 3_000;
    };
    let parsed = if let Some(ms) = v.strip_suffix("ms") {
        ms.parse().ok()
    } else if let Some(s) = v.strip_suffix('s') {
        s.parse::<i64>().ok().map(|s| s * 1_000)
    } else {
        None
    };
    parsed.unwrap_or_else(|| panic!("GROUP_INITIAL_REBALANCE_DELAY={v}: give ms or s"))
}
