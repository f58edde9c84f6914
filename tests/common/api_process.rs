//! The `user-api` binary as a child process, for scenarios where the process
//! itself must outlive what is done to its dependencies (no restart counts as
//! recovery).

use std::process::Stdio;
use std::time::{Duration, Instant};

pub struct ApiProcess {
    pub child: tokio::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub log: std::path::PathBuf,
}

impl ApiProcess {
    /// Starts it against `database_url` (`AUTH_MODE=none`, JSON logs to a file,
    /// `env` on top) and waits until `/ready` answers 200.
    pub async fn spawn(database_url: &str, env: &[(&str, &str)]) -> Self {
        let port = super::free_port();
        let log =
            std::env::temp_dir().join(format!("userlib-api-{}.log", uuid::Uuid::new_v4().simple()));
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_user-api"))
            .env("DATABASE_URL", database_url)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("AUTH_MODE", "none")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn user-api");
        let api = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !http
            .get(format!("{}/ready", api.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            assert!(Instant::now() < deadline, "user-api did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        api
    }

    /// Still the same process, not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}
