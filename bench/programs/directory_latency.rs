//! The user directory's benchmark: commit-to-topic latency, and the batch
//! look-up against one `GET /user/{id}`. Run by `bench/directory.sh`, against
//! a running user-api (AUTH_MODE=none) and user-worker (the relay).
//!
//! Renames users through `POST /api/user/sync-from-frontend` at RATE per
//! second for SECONDS, each with a unique first name, while a consumer reads
//! the directory topic; a rename's latency is from its 200 (the commit) to
//! its record reaching the consumer. Then, one request at a time, GET
//! `/api/user/u{i}` and GET `/api/users/public` with 50 ids, 1 000 each.
//!
//! Arguments: API_URL TOPIC RATE SECONDS USERS. Prints one JSON line.
//! `FETCH_WAIT_MS` (default 5) is the consumer's fetch wait: the test broker
//! answers a waiting fetch only when the wait ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Times of one rename: its 200 and its record's arrival.
#[derive(Default, Clone, Copy)]
struct Seen {
    answered: Option<Instant>,
    received: Option<Instant>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [api, topic, rate, seconds, users] = args.as_slice() else {
        anyhow::bail!("usage: directory_latency API_URL TOPIC RATE SECONDS USERS");
    };
    let (rate, seconds, users): (u64, u64, u64) = (rate.parse()?, seconds.parse()?, users.parse()?);
    let seen: Arc<Mutex<HashMap<u64, Seen>>> = Arc::default();

    let consumer: StreamConsumer = ClientConfig::new()
        .set(
            "bootstrap.servers",
            std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into()),
        )
        .set(
            "group.id",
            format!("dirbench_{}", uuid::Uuid::new_v4().simple()),
        )
        // The topic is new: everything on it is ours.
        .set("auto.offset.reset", "earliest")
        .set(
            "fetch.wait.max.ms",
            std::env::var("FETCH_WAIT_MS").unwrap_or_else(|_| "5".into()),
        )
        .create()?;
    consumer.subscribe(&[topic])?;
    let reader = {
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Ok(m) = consumer.recv().await {
                let now = Instant::now();
                let Some(Ok(value)) = m.payload().map(serde_json::from_slice::<serde_json::Value>)
                else {
                    continue;
                };
                let seq = value["firstName"]
                    .as_str()
                    .and_then(|f| f.strip_prefix('B'))
                    .and_then(|n| n.parse::<u64>().ok());
                if let Some(seq) = seq {
                    seen.lock().unwrap().entry(seq).or_default().received = Some(now);
                }
            }
        })
    };
    // Let the consumer join and take its partitions before anything is sent.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let http = reqwest::Client::new();
    let total = rate * seconds;
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let mut sends = Vec::with_capacity(total as usize);
    for seq in 0..total {
        ticks.tick().await;
        let (http, seen, url) = (
            http.clone(),
            seen.clone(),
            format!("{api}/api/user/sync-from-frontend"),
        );
        sends.push(tokio::spawn(async move {
            let user = seq % users + 1;
            let body = serde_json::json!({"clerk_user_id": format!("u{user}"), "first_name": format!("B{seq}")});
            let ok = http.post(url).json(&body).send().await.is_ok_and(|r| r.status() == 200);
            if ok {
                seen.lock().unwrap().entry(seq).or_default().answered = Some(Instant::now());
            }
            ok
        }));
    }
    let mut failed = 0;
    for s in sends {
        failed += usize::from(!s.await?);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && seen
            .lock()
            .unwrap()
            .values()
            .filter(|s| s.received.is_some())
            .count()
            < total as usize
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    reader.abort();
    let seen = seen.lock().unwrap().clone();
    let mut latencies: Vec<f64> = seen
        .values()
        .filter_map(|s| {
            Some(
                s.received?
                    .saturating_duration_since(s.answered?)
                    .as_secs_f64()
                    * 1e3,
            )
        })
        .collect();
    latencies.sort_by(f64::total_cmp);

    // The look-ups, one at a time: what a page waits for.
    let mut one = Vec::new();
    let mut fifty = Vec::new();
    for i in 0..1000u64 {
        let started = Instant::now();
        let r = http
            .get(format!("{api}/api/user/u{}", i % users + 1))
            .send()
            .await?;
        anyhow::ensure!(r.status() == 200, "GET /user: {}", r.status());
        r.bytes().await?;
        one.push(started.elapsed().as_secs_f64() * 1e3);
        let ids: Vec<String> = (0..50)
            .map(|k| format!("u{}", (i * 50 + k) % users + 1))
            .collect();
        let started = Instant::now();
        let r = http
            .get(format!("{api}/api/users/public?ids={}", ids.join(",")))
            .send()
            .await?;
        anyhow::ensure!(r.status() == 200, "GET /users/public: {}", r.status());
        r.bytes().await?;
        fifty.push(started.elapsed().as_secs_f64() * 1e3);
    }
    one.sort_by(f64::total_cmp);
    fifty.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({
            "rate": rate, "renames": total, "failed": failed, "published": latencies.len(),
            "commit_to_topic_ms": {"p50": percentile(&latencies, 0.5), "p99": percentile(&latencies, 0.99),
                                   "max": percentile(&latencies, 1.0)},
            "get_one_ms": {"p50": percentile(&one, 0.5), "p99": percentile(&one, 0.99)},
            "get_fifty_ms": {"p50": percentile(&fifty, 0.5), "p99": percentile(&fifty, 0.99)},
            "fifty_over_one_p50": percentile(&fifty, 0.5) / percentile(&one, 0.5),
        })
    );
    Ok(())
}
