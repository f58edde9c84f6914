//! Worker throughput: fills fresh topics with N `get_payment_info` commands,
//! starts one `user-worker` process on them, and measures how fast it answers.
//! Run through `bench/worker_throughput.sh`, which prepares the database.
//!
//! Arguments: WORKER_BINARY DATABASE_URL N USERS

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (binary, database_url) = (&args[1], &args[2]);
    let n: usize = args[3].parse()?;
    let users: usize = args[4].parse()?;
    let bootstrap = common::bootstrap();
    let (commands, events, dlq, directory, id) = common::fresh_topics("b").await?;

    // The backlog: every 10th command asks for a user that does not exist.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("linger.ms", "5")
        .create()?;
    let started = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let sends = chunk.iter().map(|i| {
            let user = if i % 10 == 9 {
                "ghost".to_string()
            } else {
                format!("u{}", i % users + 1)
            };
            let body =
                serde_json::json!({"type": "get_payment_info", "correlation_id": format!("b-{i}"),
                "timestamp": "2025-04-01T10:00:00.123456", "payload": {"user_id": user}})
                .to_string();
            let producer = &producer;
            let commands = &commands;
            async move {
                producer
                    .send(
                        FutureRecord::to(commands).key(&user).payload(&body),
                        Duration::from_secs(10),
                    )
                    .await
                    .map_err(|(e, _)| e)
            }
        });
        for r in futures_util::future::join_all(sends).await {
            r?;
        }
    }
    println!(
        "queued {n} commands in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let watcher: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", format!("watch_{id}"))
        .create()?;
    let answered = |watcher: &BaseConsumer| -> usize {
        (0..6)
            .map(|p| {
                watcher
                    .fetch_watermarks(&events, p, Duration::from_secs(5))
                    .map(|(_, hi)| hi)
                    .unwrap_or(0)
            })
            .sum::<i64>() as usize
    };

    let mut worker = tokio::process::Command::new(binary)
        .env("KAFKA_BOOTSTRAP_SERVERS", &bootstrap)
        .env("KAFKA_USER_COMMANDS_TOPIC", &commands)
        .env("KAFKA_USER_EVENTS_TOPIC", &events)
        .env("KAFKA_DLQ_TOPIC", &dlq)
        .env("KAFKA_USER_DIRECTORY_TOPIC", &directory)
        .env("KAFKA_USER_SERVICE_GROUP_ID", format!("bgrp_{id}"))
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .env("WORKER_HTTP_ADDR", "127.0.0.1:0")
        .kill_on_drop(true)
        .spawn()?;
    let spawned = Instant::now();
    let mut first: Option<(Instant, usize)> = None;
    loop {
        let done = answered(&watcher);
        if first.is_none() && done > 0 {
            first = Some((Instant::now(), done));
        }
        if done >= n {
            break;
        }
        anyhow::ensure!(
            spawned.elapsed() < Duration::from_secs(600),
            "only {done} of {n} answered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let end = Instant::now();
    let (first_at, first_done) = first.expect("answers were seen");
    let steady = (n - first_done) as f64 / (end - first_at).as_secs_f64();
    println!(
        "one worker answered {n} commands: {:.1} s from process start (incl. group join), \
         {:.0} commands/s once consuming",
        (end - spawned).as_secs_f64(),
        steady
    );
    worker.start_kill()?;
    let _ = worker.wait().await;
    Ok(())
}
