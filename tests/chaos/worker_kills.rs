//! Two workers sharing the commands; one of them killed with SIGKILL three
//! times at random moments while commands are in flight, and started again
//! each time. At-least-once: every command answered, duplicates counted.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::common::kafka::{Topics, WorkerProcess};
use crate::load::{self, CommandLoad, size};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_one_of_two_workers_three_times() {
    let _one = load::one_at_a_time().await;
    let db = load::paid_user_db(&crate::common::pg_server_url()).await;
    let Some(topics) = Topics::create(6).await else {
        return;
    };
    let topics = Arc::new(topics);
    // Each worker a pod of its own: Kubernetes restarts a killed container in
    // the same pod, with the same name, its KAFKA_GROUP_INSTANCE_ID.
    let slot = |i: usize, name: &str| {
        let id = format!("worker-{i}");
        WorkerProcess::spawn_with(
            &db.url(),
            &topics,
            name,
            &[("KAFKA_GROUP_INSTANCE_ID", id.as_str())],
        )
    };
    let mut workers = [slot(0, "a"), slot(1, "b")];
    for w in &workers {
        assert!(
            w.wait_for_log("partitions assigned", Duration::from_secs(30))
                .await
        );
    }
    // Three waits of at most 1.8 s (short) or 5 s (long) end well before the
    // last command is sent (8 s, 20 s): every kill lands mid-stream.
    let (total, rate) = size((8_000, 1_000), (20_000, 1_000));
    let commands = CommandLoad::start(topics.clone(), "k9", rate, total);
    let mut rng = rand::thread_rng();
    let mut kills = Vec::new();
    for round in 0..3 {
        let wait = rng.gen_range(500..size(1_800, 5_000));
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let victim = rng.gen_range(0..2);
        workers[victim].signal("-KILL");
        let _ = workers[victim].child.wait().await;
        kills.push((victim, commands.sent_so_far()));
        workers[victim] = slot(victim, &format!("{victim}-restart{round}"));
    }
    let sent = commands.finish().await;
    assert!(
        kills.iter().all(|(_, at)| *at < total),
        "every kill landed while commands were still being sent: {kills:?}"
    );
    let (answered, _) = load::every_command_answered(
        &topics,
        &sent,
        Duration::from_secs(180),
        "after three kill -9s",
    )
    .await;
    println!(
        "CHAOS worker-kills: {} commands at {rate}/s, kill -9 (worker, commands sent by then) {kills:?}; \
         every command answered, {} duplicate replies ({:.2} %), p50 {} ms, p99 {} ms, max {} ms",
        sent.len(),
        answered.duplicates,
        100.0 * answered.duplicates as f64 / sent.len() as f64,
        answered.percentile(0.5),
        answered.percentile(0.99),
        answered.percentile(1.0),
    );
    // A saga's patience (#21): the restarted container takes its partitions
    // back at once (static membership), so no command waits 8 s.
    let p99 = answered.percentile(0.99);
    assert!(p99 <= 8_000, "p99 {p99} ms after kill -9 (target 8 s)");
}
