//! The `user-worker` binary: crashes, scaling out, shutdown and start-up, through
//! the real broker. Start-up, probes and logs: `worker_start.rs`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::common::TestDb;
use crate::common::kafka::{Record, Topics, WorkerProcess};

pub(crate) async fn db_with_paid_user() -> TestDb {
    let db = TestDb::create_migrated().await;
    db.insert_paid_user("user_paid").await;
    db
}

pub(crate) fn counts(replies: &[Record]) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for r in replies {
        *n.entry(r.key.clone().unwrap()).or_default() += 1;
    }
    n
}

pub(crate) async fn send_many(topics: &Topics, prefix: &str, n: usize) -> Vec<String> {
    let ids: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    let sends = ids.iter().enumerate().map(|(i, c)| {
        let user = if i % 2 == 0 {
            "user_paid"
        } else {
            "user_ghost"
        };
        topics.send_command(c, user)
    });
    futures_util::future::join_all(sends).await;
    ids
}

/// Every reply once `ids` are all answered, and a little later: a worker
/// that answers some again has had time to show itself.
async fn every_reply(topics: &Topics, ids: &[String]) -> Vec<Record> {
    let replies = topics.replies_for(ids, Duration::from_secs(120)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    topics
        .read_until(&topics.events.clone(), Duration::from_secs(10), |rs| {
            rs.len() > replies.len()
        })
        .await
}

pub(crate) async fn wait_exit(p: &mut WorkerProcess, within: Duration) -> Option<i32> {
    tokio::time::timeout(within, p.child.wait())
        .await
        .expect("worker exits in time")
        .unwrap()
        .code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_then_restart_answers_every_command() {
    let db = db_with_paid_user().await;
    let Some(topics) = Topics::create(6).await else {
        return;
    };
    let topics = std::sync::Arc::new(topics);
    let total = 8000;
    let ids: Vec<String> = (0..total).map(|i| format!("k9-{i}")).collect();

    let mut first = WorkerProcess::spawn(&db.url(), &topics, "first");
    assert!(
        first
            .wait_for_log("partitions assigned", Duration::from_secs(30))
            .await
    );

    // Commands keep arriving before, during and after the crash (~1000/s).
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sender = {
        let (topics, ids, sent) = (topics.clone(), ids.clone(), sent.clone());
        tokio::spawn(async move {
            for chunk in ids.chunks(50) {
                let sends = chunk.iter().map(|c| topics.send_command(c, "user_paid"));
                futures_util::future::join_all(sends).await;
                sent.fetch_add(chunk.len(), std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let answered = topics
        .read_until(&topics.events.clone(), Duration::from_secs(30), |rs| {
            !rs.is_empty()
        })
        .await;
    assert!(!answered.is_empty(), "the first worker answered something");
    first.signal("-KILL");
    let _ = first.child.wait().await;
    let sent_at_kill = sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        sent_at_kill < total,
        "killed while commands were still arriving"
    );

    let mut second = WorkerProcess::spawn(&db.url(), &topics, "second");
    sender.await.unwrap();
    let replies = topics.replies_for(&ids, Duration::from_secs(120)).await;
    let n = counts(&replies);
    let missing: Vec<_> = ids.iter().filter(|c| !n.contains_key(*c)).collect();
    assert!(
        missing.is_empty(),
        "{} commands never answered, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let duplicates: usize = n.values().map(|c| c - 1).sum();
    println!(
        "kill -9 with {sent_at_kill} of {total} commands sent: every command answered, {duplicates} duplicate replies"
    );
    second.signal("-TERM");
    assert_eq!(
        wait_exit(&mut second, Duration::from_secs(30)).await,
        Some(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_the_partitions_and_answer_everything() {
    let db = db_with_paid_user().await;
    let Some(topics) = Topics::create(6).await else {
        return;
    };
    let mut a = WorkerProcess::spawn(&db.url(), &topics, "a");
    assert!(
        a.wait_for_log("partitions assigned", Duration::from_secs(30))
            .await
    );
    let mut b = WorkerProcess::spawn(&db.url(), &topics, "b");
    assert!(
        b.wait_for_log("partitions assigned", Duration::from_secs(30))
            .await
    );

    // After the rebalance each holds a non-empty share of the six partitions.
    let last_assignment = |logs: String| -> HashSet<String> {
        logs.lines()
            .rev()
            .find(|l| l.contains("partitions assigned"))
            .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .and_then(|v| {
                v["partitions"]
                    .as_str()
                    .map(|p| p.split(',').map(String::from).collect())
            })
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let (pa, pb) = loop {
        let (pa, pb) = (last_assignment(a.logs()), last_assignment(b.logs()));
        if (!pa.is_empty() && !pb.is_empty() && pa.is_disjoint(&pb) && pa.len() + pb.len() == 6)
            || Instant::now() > deadline
        {
            break (pa, pb);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        !pa.is_empty() && !pb.is_empty(),
        "both workers got partitions: {pa:?} {pb:?}"
    );
    assert_eq!(pa.len() + pb.len(), 6);
    assert!(pa.is_disjoint(&pb));

    let ids = send_many(&topics, "two", 600).await;
    let replies = topics.replies_for(&ids, Duration::from_secs(60)).await;
    let n = counts(&replies);
    assert!(ids.iter().all(|c| n.contains_key(c)), "all answered");

    a.signal("-TERM");
    b.signal("-TERM");
    assert_eq!(wait_exit(&mut a, Duration::from_secs(30)).await, Some(0));
    assert_eq!(wait_exit(&mut b, Duration::from_secs(30)).await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_commits_so_a_restarted_worker_repeats_nothing() {
    let db = db_with_paid_user().await;
    let Some(topics) = Topics::create(6).await else {
        return;
    };
    let mut first = WorkerProcess::spawn(&db.url(), &topics, "first");
    let before = send_many(&topics, "term", 200).await;
    assert_eq!(
        counts(&topics.replies_for(&before, Duration::from_secs(60)).await).len(),
        200
    );

    first.signal("-TERM");
    let started = Instant::now();
    assert_eq!(
        wait_exit(&mut first, Duration::from_secs(30)).await,
        Some(0)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        first
            .logs()
            .contains("committing offsets and leaving the group")
    );

    let mut second = WorkerProcess::spawn(&db.url(), &topics, "second");
    let after = send_many(&topics, "later", 20).await;
    let all: Vec<String> = before.iter().chain(&after).cloned().collect();
    let n = counts(&every_reply(&topics, &all).await);
    assert!(
        all.iter().all(|c| n.get(c) == Some(&1)),
        "each command answered exactly once"
    );
    second.signal("-TERM");
    assert_eq!(
        wait_exit(&mut second, Duration::from_secs(30)).await,
        Some(0)
    );
}

/// Up to eight answered batches await their acknowledgements at once; a stop
/// in the middle of a backlog must wait for them, store their offsets in poll
/// order and commit, so that the next worker starts exactly after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_backlog_with_batches_in_flight_loses_and_repeats_nothing() {
    let db = db_with_paid_user().await;
    let Some(topics) = Topics::create(6).await else {
        return;
    };
    let total = 20_000;
    let ids = send_many(&topics, "flight", total).await;
    // Small batches: many of them in flight on the same partitions.
    let env = [("KAFKA_BATCH_SIZE", "50"), ("KAFKA_BATCHES_IN_FLIGHT", "8")];
    let mut first = WorkerProcess::spawn_with(&db.url(), &topics, "first", &env);
    let deadline = Instant::now() + Duration::from_secs(60);
    while first.messages_handled().await == 0 {
        assert!(Instant::now() < deadline, "the first worker answers");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.signal("-TERM");
    assert_eq!(
        wait_exit(&mut first, Duration::from_secs(30)).await,
        Some(0)
    );

    let mut second = WorkerProcess::spawn_with(&db.url(), &topics, "second", &env);
    let n = counts(&every_reply(&topics, &ids).await);
    let missing = ids.iter().filter(|c| !n.contains_key(*c)).count();
    let repeated = n.values().filter(|&&c| c > 1).count();
    assert_eq!((missing, repeated), (0, 0), "each command answered once");
    let by_second = second.messages_handled().await;
    assert!(
        by_second > 0 && by_second < total as u64,
        "stopped mid-backlog: the second worker answered {by_second} of {total}"
    );
    second.signal("-TERM");
    assert_eq!(
        wait_exit(&mut second, Duration::from_secs(30)).await,
        Some(0)
    );
}
