//! Kafka side of the harness: the real broker (`KAFKA_BOOTSTRAP_SERVERS`, default
//! 127.0.0.1:9092, which scripts/test starts), fresh topics per test, a command
//! producer and a reply reader. The worker in-process or as a process, and a
//! private broker: `kafka_runs.rs`, re-exported here.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use userlib::config::KafkaSettings;

#[allow(unused_imports)] // each test binary uses a different part
pub use super::kafka_runs::{InProcessWorker, PrivateBroker, WorkerProcess};

pub fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// A reply or dead-letter record as a test sees it.
#[derive(Debug, Clone)]
pub struct Record {
    pub key: Option<String>,
    pub headers: HashMap<String, String>,
    pub payload: Vec<u8>,
    pub partition: i32,
    /// The record's timestamp (ms since the epoch): when it was produced.
    pub timestamp: Option<i64>,
}

impl Record {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).expect("replies are JSON")
    }
}

/// Fresh topics (and a group id) for one test.
pub struct Topics {
    /// The broker these topics live on.
    pub bootstrap: String,
    pub commands: String,
    pub events: String,
    pub dlq: String,
    /// The user directory (compacted, as `user-worker create-topics` makes it).
    pub directory: String,
    pub group: String,
    producer: FutureProducer,
}

impl Topics {
    /// Fresh topics on the test broker; `None` (the test skips) when there is
    /// no broker and none was asked for.
    pub async fn create(command_partitions: i32) -> Option<Self> {
        let bootstrap = bootstrap();
        let reachable = std::net::TcpStream::connect_timeout(
            &match bootstrap.parse() {
                Ok(addr) => addr,
                // A host name: let the client resolve it and fail loudly.
                Err(_) => return Some(Self::create_on(&bootstrap, command_partitions).await),
            },
            Duration::from_secs(1),
        )
        .is_ok();
        if !reachable {
            return crate::common::skip(&format!(
                "no Kafka broker at {bootstrap} (KAFKA_BOOTSTRAP_SERVERS)"
            ));
        }
        Some(Self::create_on(&bootstrap, command_partitions).await)
    }

    /// Fresh topics on the broker at `bootstrap` (a test's own, say).
    pub async fn create_on(bootstrap: &str, command_partitions: i32) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let topics = Self {
            bootstrap: bootstrap.to_owned(),
            commands: format!("cmd_{id}"),
            events: format!("evt_{id}"),
            dlq: format!("dlq_{id}"),
            directory: format!("dir_{id}"),
            group: format!("grp_{id}"),
            producer: ClientConfig::new()
                .set("bootstrap.servers", bootstrap)
                .set("linger.ms", "0")
                // As the orchestrators' kafka-python reconnects (its default
                // reconnect_backoff_max_ms): a command sent during a broker
                // outage reaches it within a second of its return.
                .set("reconnect.backoff.max.ms", "1000")
                .create()
                .expect("producer"),
        };
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .create()
            .unwrap();
        let new = [
            NewTopic::new(
                &topics.commands,
                command_partitions,
                TopicReplication::Fixed(1),
            ),
            NewTopic::new(&topics.events, 3, TopicReplication::Fixed(1)),
            NewTopic::new(&topics.dlq, 1, TopicReplication::Fixed(1)),
            NewTopic::new(&topics.directory, 3, TopicReplication::Fixed(1))
                .set("cleanup.policy", "compact"),
        ];
        let results = admin
            .create_topics(
                &new,
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
            )
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot reach the Kafka broker at {bootstrap} ({e}); scripts/test starts one"
                )
            });
        for r in results {
            r.expect("topic created");
        }
        topics
    }

    pub fn settings(&self) -> KafkaSettings {
        // The worker's own group-membership and reconnect settings, as shipped.
        let mut settings = KafkaSettings::new(
            &self.bootstrap,
            &self.commands,
            &self.events,
            &self.dlq,
            &self.group,
        );
        settings.directory_topic = self.directory.clone();
        settings
    }

    /// The same settings as environment variables, for the worker binary.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("KAFKA_BOOTSTRAP_SERVERS".into(), self.bootstrap.clone()),
            ("KAFKA_USER_COMMANDS_TOPIC".into(), self.commands.clone()),
            ("KAFKA_USER_EVENTS_TOPIC".into(), self.events.clone()),
            ("KAFKA_DLQ_TOPIC".into(), self.dlq.clone()),
            ("KAFKA_USER_DIRECTORY_TOPIC".into(), self.directory.clone()),
            ("KAFKA_USER_SERVICE_GROUP_ID".into(), self.group.clone()),
            // To try other client settings in the chaos scenarios.
            (
                "KAFKA_PROPERTIES".into(),
                std::env::var("USERLIB_TEST_KAFKA_PROPERTIES").unwrap_or_default(),
            ),
        ]
    }

    /// Sends raw bytes to the commands topic, keyed (so one key stays in one partition).
    pub async fn send_raw(&self, key: &str, payload: &[u8]) {
        self.producer
            .send(
                FutureRecord::to(&self.commands).key(key).payload(payload),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("command sent");
    }

    /// Sends a `get_payment_info` command in the orchestrators' nested form.
    pub async fn send_command(&self, correlation_id: &str, user_id: &str) {
        let body = serde_json::json!({
            "type": "get_payment_info", "correlation_id": correlation_id,
            "timestamp": "2025-04-01T10:00:00.123456", "payload": {"user_id": user_id}
        });
        self.send_raw(user_id, &serde_json::to_vec(&body).unwrap())
            .await;
    }

    /// Reads `topic` from the beginning until `done` says so or `timeout` passes.
    pub async fn read_until(
        &self,
        topic: &str,
        timeout: Duration,
        mut done: impl FnMut(&[Record]) -> bool,
    ) -> Vec<Record> {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set(
                "group.id",
                format!("reader_{}", uuid::Uuid::new_v4().simple()),
            )
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        consumer.subscribe(&[topic]).unwrap();
        let deadline = Instant::now() + timeout;
        let mut records = Vec::new();
        while !done(&records) && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left.min(Duration::from_millis(500)), consumer.recv()).await
            {
                Ok(Ok(m)) => records.push(Record {
                    key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                    headers: m
                        .headers()
                        .map(|h| {
                            h.iter()
                                .map(|h| {
                                    (
                                        h.key.to_owned(),
                                        String::from_utf8_lossy(h.value.unwrap_or_default())
                                            .into_owned(),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    payload: m.payload().unwrap_or_default().to_vec(),
                    partition: m.partition(),
                    timestamp: m.timestamp().to_millis(),
                }),
                Ok(Err(e)) => panic!("reading {topic}: {e}"),
                Err(_) => {}
            }
        }
        records
    }

    /// Replies until every correlation id in `expected` has one (or timeout).
    pub async fn replies_for(&self, expected: &[String], timeout: Duration) -> Vec<Record> {
        // Looked at once each: the chaos runs read tens of thousands.
        let mut missing: std::collections::HashSet<&str> =
            expected.iter().map(String::as_str).collect();
        let mut looked = 0;
        self.read_until(&self.events.clone(), timeout, |rs| {
            for r in &rs[looked..] {
                if let Some(key) = &r.key {
                    missing.remove(key.as_str());
                }
            }
            looked = rs.len();
            missing.is_empty()
        })
        .await
    }
}
