//! Commands that reach the worker in less usual shapes: answers too large to
//! send (dead-lettered truncated, never blocking the partition), look-ups
//! behind a transaction-mode pooler, and zstd-compressed batches.

use std::time::Duration;

use super::commands::{WAIT, seeded_db};
use crate::common::PgBouncer;
use crate::common::kafka::{InProcessWorker, Topics};
use serde_json::json;
use userlib::config::FromEnv;

/// A command whose answer the producer can never send (its dead-letter copy,
/// or its reply, is over librdkafka's 1 000 000-byte `message.max.bytes`) was
/// retried for ever, blocking its partition, and again after every restart. It
/// is now dead-lettered as a truncated copy, and the commands behind it are
/// answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_too_large_to_answer_never_block_their_partition() {
    use rdkafka::ClientConfig;
    use rdkafka::producer::{FutureProducer, FutureRecord};

    let db = seeded_db().await;
    let Some(topics) = Topics::create(1).await else {
        return;
    };
    let worker = InProcessWorker::start(&db.url(), topics.settings());
    // The orchestrators' brokers take up to about 1 MB; so does this producer.
    let big: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", crate::common::kafka::bootstrap())
        .set("message.max.bytes", "1048576")
        .create()
        .unwrap();
    let send = |payload: Vec<u8>| {
        let big = &big;
        let topic = topics.commands.clone();
        async move {
            big.send(
                FutureRecord::<str, [u8]>::to(&topic)
                    .key("k")
                    .payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("the broker takes it");
        }
    };
    // Not JSON, 1 030 000 bytes: more than librdkafka's default limit lets the
    // worker copy to the dead-letter topic.
    send(vec![b'x'; 1_030_000]).await;
    // Valid JSON, as large, but without a correlation id: malformed, and as
    // unproducible as the first.
    let padding = "p".repeat(1_030_000);
    send(
        serde_json::to_vec(&json!({"type": "get_payment_info", "padding": padding,
                                   "payload": {"user_id": "user_paid"}}))
        .unwrap(),
    )
    .await;
    // A valid command as large: its reply is small, so it is simply answered.
    send(
        serde_json::to_vec(
            &json!({"type": "get_payment_info", "correlation_id": "big-but-fine",
                                   "padding": padding, "payload": {"user_id": "user_paid"}}),
        )
        .unwrap(),
    )
    .await;
    let mut expected: Vec<String> = (0..5).map(|i| format!("after-{i}")).collect();
    for id in &expected {
        topics.send_command(id, "user_paid").await;
    }
    expected.push("big-but-fine".into());

    let replies = topics.replies_for(&expected, WAIT).await;
    let answered: std::collections::HashSet<_> =
        replies.iter().filter_map(|r| r.key.clone()).collect();
    for id in &expected {
        assert!(answered.contains(id), "{id} behind the poison was answered");
    }
    let dlq = topics
        .read_until(&topics.dlq.clone(), WAIT, |rs| rs.len() >= 2)
        .await;
    assert_eq!(dlq.len(), 2, "both are kept, as truncated copies");
    for record in &dlq {
        assert_eq!(record.headers["x-dlq-reason"], "message_too_large");
        assert!(
            record.payload.len() <= 64 * 1024,
            "{}",
            record.payload.len()
        );
        let original: usize = record.headers["x-dlq-original-size"].parse().unwrap();
        assert!(original > 1_000_000, "{original}");
    }
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_lookup_works_behind_a_transaction_pooler() {
    let db = seeded_db().await;
    let Some(topics) = Topics::create(3).await else {
        return;
    };
    // Two server connections behind PgBouncer in transaction mode.
    let Some(bouncer) = PgBouncer::start(2) else {
        return;
    };
    let database = userlib::config::MigrateConfig::from_vars([
        ("DATABASE_URL".into(), bouncer.url(&db.name)),
        ("DATABASE_POOLER".into(), "transaction".into()),
        ("MIGRATION_DATABASE_URL".into(), db.url()),
    ])
    .unwrap()
    .database;
    let worker = InProcessWorker::start_with(database, topics.settings());
    let users = ["user_paid", "user_nocus", "user_nocard", "user_ghost"];
    let mut expected = Vec::new();
    for round in 0..25 {
        for user in users {
            let correlation_id = format!("c-{round}-{user}");
            topics.send_command(&correlation_id, user).await;
            expected.push(correlation_id);
        }
    }
    let replies = topics.replies_for(&expected, WAIT).await;
    assert_eq!(replies.len(), expected.len());
    for reply in &replies {
        let body = reply.json();
        let want = if body["payload"]["user_id"] == "user_paid" {
            "user.payment_info_retrieved"
        } else {
            "user.payment_info_failed"
        };
        assert_eq!(body["type"], want, "{body}");
    }
    // The user directory's relay works through the pooler too: its lock is
    // a transaction's, not a session's. The seeded users are all published.
    let directory = topics
        .read_until(&topics.directory, WAIT, |rs| rs.len() >= 3)
        .await;
    let mut keys: Vec<String> = directory.iter().filter_map(|r| r.key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys, ["user_nocard", "user_nocus", "user_paid"]);
    worker.stop().await;
    assert!(
        !bouncer.log().contains("prepared statement"),
        "{}",
        bouncer.log()
    );
}

/// Managed Kafka often has producers compress with zstd; the worker must read
/// such batches (librdkafka built with zstd) and answer them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_compressed_commands_are_answered() {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let db = seeded_db().await;
    let Some(topics) = Topics::create(1).await else {
        return;
    };
    let worker = InProcessWorker::start(&db.url(), topics.settings());
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", crate::common::kafka::bootstrap())
        .set("compression.type", "zstd")
        .set("linger.ms", "20")
        .create()
        .unwrap();
    let expected: Vec<String> = (0..20).map(|i| format!("c-zstd-{i}")).collect();
    for id in &expected {
        let body = json!({"type": "get_payment_info", "correlation_id": id,
                          "payload": {"user_id": "user_paid"}})
        .to_string();
        producer
            .send(
                FutureRecord::to(&topics.commands)
                    .key("user_paid")
                    .payload(&body),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("zstd-compressed command sent");
    }
    let replies = topics.replies_for(&expected, WAIT).await;
    assert_eq!(replies.len(), expected.len());
    assert!(
        replies
            .iter()
            .all(|r| r.json()["type"] == "user.payment_info_retrieved")
    );
    worker.stop().await;
}
