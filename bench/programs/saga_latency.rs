//! Saga reply latency: what an orchestrator waits for. A probe produces
//! `get_payment_info` commands at a fixed rate and times each reply (matched by
//! its correlation id), either through `user-worker` or, for the ceiling,
//! through a trivial echo consumer (consume, produce the same bytes back) on
//! the same broker: the broker's own two hops. The echo's consumer and
//! producer are built by the worker's own configuration functions
//! (`userlib::worker::{consumer_config, producer_config}`), so both sides of
//! the ratio run the same client settings. Run by `bench/saga_latency.sh`.
//!
//! Arguments: MODE (worker BINARY DATABASE_URL | echo) RATE SECONDS USERS
//! Prints one JSON line: mode, rate, sent, answered, unanswered (of which
//! unsendable: refused by the probe's own full queue), p50/p90/p99/max in ms,
//! and p50/p99 per 10 s of sending (`windows`). `FETCH_WAIT_MS` (default 5)
//! sets every consumer's fetch wait; `LINGER_MS` (unset: each client's own,
//! the worker's 2 ms for the worker and the echo, 5 ms for the probe) sets
//! every producer's linger — `LINGER_MS=0` is the zero-linger variant.

#[path = "common/mod.rs"]
mod common;
#[path = "common/trim.rs"]
mod trim;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// The test broker does not wake waiting fetches early (real Kafka does):
/// every consumer here, the worker's included, asks it not to wait long.
/// `fetch.wait.max.ms` of every consumer here (`FETCH_WAIT_MS`, default 5): the
/// test broker answers a waiting fetch only when the wait ends.
fn fetch_wait_ms() -> String {
    std::env::var("FETCH_WAIT_MS").unwrap_or_else(|_| "5".into())
}
const WARM_UP: Duration = Duration::from_secs(2);
/// The probe's producer linger unless `LINGER_MS` says otherwise.
const PROBE_LINGER_MS: &str = "5";

/// `LINGER_MS`, when set: every producer's linger (probe, echo, worker).
fn linger_override() -> Option<String> {
    std::env::var("LINGER_MS").ok().filter(|v| !v.is_empty())
}

/// The worker's settings for these topics, with the benchmark's fetch wait
/// (and linger override): what the worker runs with here, and the echo too.
fn worker_settings(
    bootstrap: &str,
    commands: &str,
    events: &str,
    dlq: &str,
    group: &str,
) -> userlib::config::KafkaSettings {
    use userlib::config::{KafkaClient, SecretString};
    let mut s = userlib::config::KafkaSettings::new(bootstrap, commands, events, dlq, group);
    s.properties.push((
        "fetch.wait.max.ms".into(),
        KafkaClient::Consumer,
        SecretString::from(fetch_wait_ms()),
    ));
    if let Some(linger) = linger_override() {
        s.properties.push((
            "linger.ms".into(),
            KafkaClient::Producer,
            SecretString::from(linger),
        ));
    }
    s
}

/// The same settings as `KAFKA_PROPERTIES` for the worker binary.
fn worker_properties() -> String {
    let mut p = format!("consumer.fetch.wait.max.ms={}", fetch_wait_ms());
    if let Some(linger) = linger_override() {
        p.push_str(&format!(";producer.linger.ms={linger}"));
    }
    p
}

fn client(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    c
}

fn consumer(bootstrap: &str, group: &str, topic: &str) -> anyhow::Result<StreamConsumer> {
    let c: StreamConsumer = client(bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", fetch_wait_ms())
        .set("enable.auto.commit", "true")
        // As often as the worker's: the trimmer deletes what is committed.
        .set("auto.commit.interval.ms", "1000")
        .create()?;
    c.subscribe(&[topic])?;
    Ok(c)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mode = args[1].as_str();
    let rest = if mode == "worker" {
        &args[4..]
    } else {
        &args[2..]
    };
    let (rate, seconds, users): (u64, u64, usize) =
        (rest[0].parse()?, rest[1].parse()?, rest[2].parse()?);
    let bootstrap = common::bootstrap();
    let (commands, events, dlq, directory, id) = common::fresh_topics("l").await?;

    let processing = if mode == "worker" {
        format!("lgrp_{id}")
    } else {
        format!("echo_{id}")
    };
    if std::env::var("TRIM").as_deref() != Ok("0") {
        trim::spawn(
            &bootstrap,
            vec![
                (commands.clone(), common::PARTITIONS, processing.clone()),
                (events.clone(), common::PARTITIONS, format!("probe_{id}")),
            ],
        )?;
    }

    // The service under test.
    let mut child = None;
    if mode == "worker" {
        child = Some(
            tokio::process::Command::new(&args[2])
                .env("KAFKA_BOOTSTRAP_SERVERS", &bootstrap)
                .env("KAFKA_USER_COMMANDS_TOPIC", &commands)
                .env("KAFKA_USER_EVENTS_TOPIC", &events)
                .env("KAFKA_DLQ_TOPIC", &dlq)
                .env("KAFKA_USER_DIRECTORY_TOPIC", &directory)
                .env("KAFKA_USER_SERVICE_GROUP_ID", &processing)
                .env("KAFKA_PROPERTIES", worker_properties())
                .env("DATABASE_URL", &args[3])
                .env("RUST_LOG", "warn")
                .env("WORKER_HTTP_ADDR", "127.0.0.1:0")
                .kill_on_drop(true)
                .spawn()?,
        );
    } else {
        let settings = worker_settings(&bootstrap, &commands, &events, &dlq, &processing);
        let echo_in: StreamConsumer = userlib::worker::consumer_config(&settings).create()?;
        echo_in.subscribe(&[&commands])?;
        let echo_out: FutureProducer = userlib::worker::producer_config(&settings).create()?;
        let events = events.clone();
        tokio::spawn(async move {
            loop {
                let Ok(m) = echo_in.recv().await else {
                    continue;
                };
                let (key, payload) = (m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec));
                let record = FutureRecord::to(&events)
                    .key(key.as_deref().unwrap_or_default())
                    .payload(payload.as_deref().unwrap_or_default());
                let _ = echo_out.send_result(record);
            }
        });
    }

    // The orchestrator's side: replies keyed by correlation id.
    // Correlation id → (sent at, counted: sent after the warm-up).
    let sent_at: Arc<Mutex<HashMap<String, (Instant, bool)>>> = Arc::default();
    // (sent at, ms to the reply), for the percentiles and their course over time.
    let latencies: Arc<Mutex<Vec<(Instant, f64)>>> = Arc::default();
    let replies = consumer(&bootstrap, &format!("probe_{id}"), &events)?;
    {
        let (sent_at, latencies) = (sent_at.clone(), latencies.clone());
        tokio::spawn(async move {
            loop {
                let Ok(m) = replies.recv().await else {
                    continue;
                };
                let now = Instant::now();
                let Some(key) = m.key().and_then(|k| std::str::from_utf8(k).ok()) else {
                    continue;
                };
                if let Some((at, true)) = sent_at.lock().unwrap().remove(key) {
                    latencies
                        .lock()
                        .unwrap()
                        .push((at, (now - at).as_secs_f64() * 1000.0));
                }
            }
        });
    }
    let probe_linger = linger_override().unwrap_or_else(|| PROBE_LINGER_MS.into());
    let producer: FutureProducer = client(&bootstrap).set("linger.ms", probe_linger).create()?;
    // Wait until the service answers before the clock starts.
    let ready_deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let key = format!("ready-{}", uuid::Uuid::new_v4().simple());
        sent_at
            .lock()
            .unwrap()
            .insert(key.clone(), (Instant::now(), false));
        send(&producer, &commands, &key, "u1").await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        if !sent_at.lock().unwrap().contains_key(&key) {
            break;
        }
        anyhow::ensure!(Instant::now() < ready_deadline, "{mode} never answered");
    }
    // A fixed rate in 1 ms ticks; only commands sent after the warm-up count.
    let per_tick = rate as f64 / 1000.0;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let (mut owed, mut n, mut counted, mut unsendable) = (0.0, 0u64, 0u64, 0u64);
    let mut measured_from = None;
    while started.elapsed() < WARM_UP + Duration::from_secs(seconds) {
        tick.tick().await;
        owed += per_tick;
        if measured_from.is_none() && started.elapsed() >= WARM_UP {
            measured_from = Some(n);
        }
        while owed >= 1.0 {
            owed -= 1.0;
            n += 1;
            let key = format!("c-{n}");
            sent_at
                .lock()
                .unwrap()
                .insert(key.clone(), (Instant::now(), measured_from.is_some()));
            let user = format!("u{}", n as usize % users + 1);
            let body = serde_json::json!({"type": "get_payment_info", "correlation_id": key,
                "payload": {"user_id": user}})
            .to_string();
            // Keyed by the correlation id, so the echo's reply is matched the
            // way the worker's is (it keys replies by correlation id).
            match producer.send_result(FutureRecord::to(&commands).key(&key).payload(&body)) {
                Ok(_) => {}
                // The broker cannot take the offered rate and the probe's
                // queue is full: the command is never answered, as far as
                // an orchestrator can tell — it counts as unanswered.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    unsendable += 1;
                }
                Err((e, _)) => return Err(e.into()),
            }
            if measured_from.is_some() {
                counted += 1;
            }
        }
    }
    // Let the last replies arrive.
    let settle = Instant::now();
    let pending = || sent_at.lock().unwrap().values().filter(|(_, c)| *c).count();
    while settle.elapsed() < Duration::from_secs(5) && pending() > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let timed = latencies.lock().unwrap().clone();
    let unanswered = pending();
    let percentiles = |mut l: Vec<f64>| {
        l.sort_by(f64::total_cmp);
        move |p: f64| {
            l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
                .copied()
                .unwrap_or(f64::NAN)
        }
    };
    let l: Vec<f64> = timed.iter().map(|(_, ms)| *ms).collect();
    let max = l.iter().copied().fold(f64::NAN, f64::max);
    // A command still unanswered when the probe stops waiting took longer than
    // any answered one: it counts in the percentiles as never answered
    // (`null` when a percentile falls among them), not as if it had not been sent.
    let mut censored = l.clone();
    censored.extend(std::iter::repeat_n(f64::INFINITY, unanswered));
    let pct = percentiles(censored);
    let finite = |v: f64| {
        if v.is_finite() {
            serde_json::json!(v)
        } else {
            serde_json::Value::Null
        }
    };
    // Per 10 s of sending (by send time): does the reply latency drift?
    let mut windows: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    for (at, ms) in &timed {
        let t = at.saturating_duration_since(started).as_secs() / 10 * 10;
        windows.entry(t).or_default().push(*ms);
    }
    let windows: Vec<_> = windows
        .into_iter()
        .map(|(t, l)| {
            let n = l.len();
            let p = percentiles(l);
            serde_json::json!({"t": t, "n": n, "p50_ms": p(0.5), "p99_ms": p(0.99)})
        })
        .collect();
    println!(
        "{}",
        serde_json::json!({"mode": mode, "rate": rate, "sent": counted, "answered": l.len(),
            "unanswered": unanswered, "unsendable": unsendable,
            "p50_ms": finite(pct(0.50)), "p90_ms": finite(pct(0.90)), "p99_ms": finite(pct(0.99)),
            "max_ms": max,
            "windows": windows})
    );
    if let Some(mut c) = child {
        c.start_kill()?;
        let _ = c.wait().await;
    }
    Ok(())
}

async fn send(producer: &FutureProducer, topic: &str, key: &str, user: &str) -> anyhow::Result<()> {
    let body = serde_json::json!({"type": "get_payment_info", "correlation_id": key,
        "payload": {"user_id": user}})
    .to_string();
    producer
        .send(
            FutureRecord::to(topic).key(key).payload(&body),
            Duration::from_secs(5),
        )
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
}
