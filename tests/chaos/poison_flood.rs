//! Malformed commands, oversized ones among them, mixed into good ones: every
//! good one answered, every bad one kept in the dead-letter topic with its
//! reason (or counted as skipped by the worker's metrics, with a logged reason).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::common::kafka::{Topics, WorkerProcess};
use crate::load::{self, Sent, command, now_ms, size};

/// One kind of bad command, as the dead-letter reason the worker gives it.
fn bad_command(n: usize) -> (&'static str, Vec<u8>) {
    match n % 100 {
        // Over librdkafka's 1 000 000 bytes: only a truncated copy fits.
        0 => ("message_too_large", vec![b'x'; 1_030_000]),
        1 => (
            "message_too_large",
            serde_json::to_vec(&serde_json::json!({"type": "get_payment_info",
                "padding": "p".repeat(1_030_000), "payload": {"user_id": "user_paid"}}))
            .unwrap(),
        ),
        k if k % 5 == 0 => ("not_json", format!("\u{0}garbage {n}").into_bytes()),
        k if k % 5 == 1 => ("not_an_object", b"[1, 2, 3]".to_vec()),
        k if k % 5 == 2 => (
            "missing_correlation_id",
            br#"{"type":"get_payment_info","payload":{"user_id":"user_paid"}}"#.to_vec(),
        ),
        k if k % 5 == 3 => (
            "missing_user_id",
            format!(r#"{{"type":"get_payment_info","correlation_id":"bad-{n}"}}"#).into_bytes(),
        ),
        _ => (
            "unknown_type",
            format!(r#"{{"type":"drop_tables","correlation_id":"bad-{n}","payload":{{}}}}"#)
                .into_bytes(),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_flood_loses_no_good_command_and_keeps_every_bad_one() {
    let _one = load::one_at_a_time().await;
    let db = load::paid_user_db(&crate::common::pg_server_url()).await;
    let Some(topics) = Topics::create(6).await else {
        return;
    };
    let worker = WorkerProcess::spawn(&db.url(), &topics, "poison");
    assert!(
        worker
            .wait_for_log("partitions assigned", Duration::from_secs(30))
            .await
    );
    let (good, bad) = size((2_000, 200), (10_000, 1_000));
    // (key, payload, expected dead-letter reason for a bad one)
    let mut messages: Vec<(String, Vec<u8>, Option<&str>)> = (0..good)
        .map(|i| {
            let id = format!("good-{i}");
            let payload = command(&id, "user_paid");
            (id, payload, None)
        })
        .chain((0..bad).map(|n| {
            let (reason, payload) = bad_command(n);
            (format!("bad-{n}"), payload, Some(reason))
        }))
        .collect();
    messages.shuffle(&mut rand::thread_rng());
    let expected: BTreeMap<&str, usize> =
        messages
            .iter()
            .filter_map(|m| m.2)
            .fold(BTreeMap::new(), |mut n, reason| {
                *n.entry(reason).or_default() += 1;
                n
            });

    // The orchestrators' brokers take messages up to about 1 MB; so does this producer.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &topics.bootstrap)
        .set("message.max.bytes", "1048576")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let started = Instant::now();
    let mut sent = Vec::new();
    for chunk in messages.chunks(500) {
        let sends = chunk.iter().map(|(key, payload, _)| {
            producer.send(
                FutureRecord::to(&topics.commands).key(key).payload(payload),
                Duration::from_secs(10),
            )
        });
        for result in futures_util::future::join_all(sends).await {
            result.map_err(|(e, _)| e).expect("the broker takes it");
        }
        sent.extend(chunk.iter().filter(|m| m.2.is_none()).map(|m| Sent {
            id: m.0.clone(),
            at_ms: now_ms(),
        }));
    }
    let (answered, replies) = load::every_command_answered(
        &topics,
        &sent,
        Duration::from_secs(120),
        "with poison mixed in",
    )
    .await;
    assert_eq!(
        replies.len() - answered.duplicates,
        good,
        "no bad command was answered as if good"
    );
    let drained = started.elapsed();

    let dlq = topics
        .read_until(&topics.dlq.clone(), Duration::from_secs(60), |rs| {
            rs.len() >= bad
        })
        .await;
    let mut got: BTreeMap<&str, usize> = BTreeMap::new();
    for record in &dlq {
        let reason = record.headers["x-dlq-reason"].as_str();
        let reason = expected
            .keys()
            .find(|k| **k == reason)
            .copied()
            .unwrap_or_else(|| panic!("unexpected dead-letter reason {reason:?}"));
        *got.entry(reason).or_default() += 1;
        assert!(record.payload.len() <= 1_000_000);
    }
    let metrics = reqwest::get(format!("http://{}/metrics", worker.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let skipped: usize = metrics
        .lines()
        .find(|l| l.starts_with("worker_messages_total") && l.contains("skipped"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or(0.0) as usize;
    assert_eq!(
        dlq.len() + skipped,
        bad,
        "every bad command kept or counted: {got:?}, {skipped} skipped, expected {expected:?}"
    );
    assert_eq!(got, expected, "each with its reason");
    println!(
        "CHAOS poison-flood: {good} good + {bad} bad commands; every good one answered \
         ({} duplicates) in {drained:?}, p99 {} ms; dead-lettered {got:?}, skipped {skipped}",
        answered.duplicates,
        answered.percentile(0.99),
    );
}
