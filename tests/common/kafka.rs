//! Kafka side of the harness: the real broker (`KAFKA_BOOTSTRAP_SERVERS`, default
//! 127.0.0.1:9092, which scripts/test starts), fresh topics per test, a command
//! producer, a reply reader, and the worker run in-process or as a process.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use userlib::config::{DatabaseSettings, FromEnv, KafkaSettings, WorkerConfig};

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

/// The worker running in this process.
pub struct InProcessWorker {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), userlib::worker::WorkerError>>,
}

impl InProcessWorker {
    pub fn start(database_url: &str, kafka: KafkaSettings) -> Self {
        Self::start_with(DatabaseSettings::new(database_url).unwrap(), kafka)
    }

    /// The worker with database settings of the test's making (a pooler, say).
    pub fn start_with(database: DatabaseSettings, kafka: KafkaSettings) -> Self {
        let config = WorkerConfig {
            database: database.with_pool_size(2),
            telemetry: userlib::config::WorkerConfig::from_vars([])
                .unwrap()
                .telemetry,
            kafka,
            shutdown_timeout: Duration::from_secs(10),
            http_addr: "127.0.0.1:0".parse().unwrap(),
        };
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move { userlib::startup::worker::run(&config, token).await });
        Self { shutdown, task }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("worker stops within 30 s")
            .unwrap()
            .expect("worker ran without error");
    }
}

/// The `user-worker` binary as a child process, logging JSON to a file.
pub struct WorkerProcess {
    pub child: tokio::process::Child,
    pub log: std::path::PathBuf,
    /// Its `WORKER_HTTP_ADDR` (`/metrics`, `/ready`).
    pub http: std::net::SocketAddr,
}

impl WorkerProcess {
    pub fn spawn(database_url: &str, topics: &Topics, name: &str) -> Self {
        Self::spawn_with(database_url, topics, name, &[])
    }

    /// With extra environment (it wins over the defaults here).
    pub fn spawn_with(
        database_url: &str,
        topics: &Topics,
        name: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let log = std::env::temp_dir().join(format!("{}-{name}.log", topics.group));
        let file = std::fs::File::create(&log).unwrap();
        let http: std::net::SocketAddr = format!("127.0.0.1:{}", crate::common::free_port())
            .parse()
            .unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_user-worker"))
            .envs(topics.env())
            .env("DATABASE_URL", database_url)
            .env("DATABASE_POOL_SIZE", "2")
            .env("WORKER_HTTP_ADDR", http.to_string())
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::from(file))
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn user-worker");
        Self { child, log, http }
    }

    /// The messages it has handled (`worker_messages_total`, all outcomes).
    pub async fn messages_handled(&self) -> u64 {
        let Ok(resp) = reqwest::get(format!("http://{}/metrics", self.http)).await else {
            return 0;
        };
        let text = resp.text().await.unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with("worker_messages_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    pub fn pid(&self) -> String {
        self.child.id().expect("running").to_string()
    }

    pub fn signal(&self, sig: &str) {
        assert!(
            std::process::Command::new("kill")
                .args([sig, &self.pid()])
                .status()
                .unwrap()
                .success()
        );
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.logs().contains(needle) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}

/// A broker of the test's own (the nisshi that scripts/test builds,
/// `NISSHI_BIN`) on 127.0.0.1:`port` that advertises `advertised`: every
/// client, the worker included, then reaches it through whatever listens
/// there — a [`Proxy`] the test can cut.
///
/// [`Proxy`]: crate::common::Proxy
pub struct PrivateBroker {
    child: std::process::Child,
    /// Where it really listens (the proxy's upstream).
    pub listen: String,
}

impl PrivateBroker {
    pub fn start(port: u16, advertised: std::net::SocketAddr) -> Option<Self> {
        let Some(bin) = std::env::var_os("NISSHI_BIN") else {
            return crate::common::skip("no NISSHI_BIN (a nisshi binary)");
        };
        let listen = format!("127.0.0.1:{port}");
        let child = std::process::Command::new(bin)
            .args(["broker", "--listener-url"])
            .arg(format!("tcp://{listen}"))
            .arg("--advertised-listener-url")
            .arg(format!("tcp://{advertised}"))
            .args(["--storage-engine", "memory://nisshi/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nisshi");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&listen).is_err() {
            assert!(Instant::now() < deadline, "nisshi did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Self { child, listen })
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
