//! Three workers on a 6-partition topic, a fourth added and one removed
//! (SIGTERM, as a scale-in does) under a steady stream of commands: nothing
//! lost, each worker's share and the pause each rebalance caused reported.

use std::sync::Arc;
use std::time::Duration;

use crate::common::kafka::{Topics, WorkerProcess};
use crate::load::{self, CommandLoad, now_ms, size};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_out_and_in_under_load_loses_nothing() {
    let _one = load::one_at_a_time().await;
    let db = load::paid_user_db(&crate::common::pg_server_url()).await;
    let Some(topics) = Topics::create(6).await else {
        return;
    };
    let topics = Arc::new(topics);
    // As the Deployment runs them: static members named after their pods.
    let pod = |n: &str| {
        let id = format!("user-worker-{n}");
        WorkerProcess::spawn_with(
            &db.url(),
            &topics,
            n,
            &[("KAFKA_GROUP_INSTANCE_ID", id.as_str())],
        )
    };
    let mut workers: Vec<(String, WorkerProcess)> = ["a", "b", "c"]
        .iter()
        .map(|n| (n.to_string(), pod(n)))
        .collect();
    for (_, w) in &workers {
        assert!(
            w.wait_for_log("partitions assigned", Duration::from_secs(30))
                .await
        );
    }
    let rate = size(500, 1_000);
    let phase = Duration::from_secs(size(6, 20));
    let commands = CommandLoad::start(topics.clone(), "scale", rate, usize::MAX);
    tokio::time::sleep(phase).await;

    let added_at = now_ms();
    workers.push(("d".into(), pod("d")));
    assert!(
        workers[3]
            .1
            .wait_for_log("partitions assigned", Duration::from_secs(30))
            .await,
        "the added worker got partitions"
    );
    tokio::time::sleep(phase).await;

    let (name, mut leaving) = workers.remove(1);
    let left_share = leaving.messages_handled().await;
    let removed_at = now_ms();
    leaving.signal("-TERM");
    let code = tokio::time::timeout(Duration::from_secs(30), leaving.child.wait())
        .await
        .expect("the removed worker exits in time")
        .unwrap()
        .code();
    assert_eq!(code, Some(0), "the removed worker shut down cleanly");
    tokio::time::sleep(phase).await;
    let sent = commands.stop().await;

    let (answered, _) =
        load::every_command_answered(&topics, &sent, Duration::from_secs(120), "while scaling")
            .await;
    let mut shares = vec![format!("{name} {left_share} (until removed)")];
    for (n, w) in &workers {
        shares.push(format!("{n} {}", w.messages_handled().await));
    }
    let window = 10_000;
    println!(
        "CHAOS scale-out: {} commands at {rate}/s, all answered, {} duplicates; handled per worker: {}; \
         worst wait for a command sent within 10 s after adding a worker {} ms, after removing one {} ms \
         (steady p50 {} ms)",
        sent.len(),
        answered.duplicates,
        shares.join(", "),
        answered.worst_sent_between(added_at, added_at + window),
        answered.worst_sent_between(removed_at, removed_at + window),
        answered.percentile(0.5),
    );
}
