//! What the Kafka tests run against besides topics: the worker in-process or
//! as the `user-worker` binary, and a broker of the test's own.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use userlib::config::{DatabaseSettings, FromEnv, KafkaSettings, WorkerConfig};

use super::kafka::Topics;

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
