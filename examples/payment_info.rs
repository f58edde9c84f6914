//! Sends one `get_payment_info` command, as a saga orchestrator does, and prints
//! the reply from `user_events`. With `scripts/dev` running:
//!
//! ```sh
//! cargo run --example payment_info -- user_1
//! ```
//!
//! Uses the same variables as the worker (`KAFKA_BOOTSTRAP_SERVERS`,
//! `KAFKA_USER_COMMANDS_TOPIC`, `KAFKA_USER_EVENTS_TOPIC`).

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let user_id = std::env::args().nth(1).unwrap_or_else(|| "user_1".into());
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.into());
    let bootstrap = var("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092");
    let commands = var("KAFKA_USER_COMMANDS_TOPIC", "user_commands");
    let events = var("KAFKA_USER_EVENTS_TOPIC", "user_events");
    let correlation_id = uuid::Uuid::new_v4().to_string();

    // A reader of our own that starts at the beginning and picks our reply out by
    // its key (the correlation id), as the orchestrators do.
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", format!("example-{correlation_id}"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&[&events])?;

    let command = serde_json::json!({
        "type": "get_payment_info",
        "correlation_id": correlation_id,
        "timestamp": chrono::Utc::now().naive_utc().to_string(),
        "payload": {"user_id": user_id},
    });
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()?;
    producer
        .send(
            FutureRecord::to(&commands)
                .key(&user_id)
                .payload(&command.to_string()),
            Duration::from_secs(5),
        )
        .await
        .map_err(|(e, _)| e)?;
    println!("sent    {command}");

    loop {
        let m = tokio::time::timeout(Duration::from_secs(30), consumer.recv()).await??;
        if m.key() == Some(correlation_id.as_bytes()) {
            println!(
                "reply   {}",
                String::from_utf8_lossy(m.payload().unwrap_or_default())
            );
            return Ok(());
        }
    }
}
