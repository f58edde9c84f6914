//! A private PostgreSQL cluster for one test (`initdb`/`pg_ctl` from the
//! machine's PostgreSQL, run as the `postgres` user when we are root), on a
//! free port, in a temporary directory, stopped and removed on drop. The
//! shared server on 5432 is never reconfigured.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PrivateCluster {
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
}

fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A PostgreSQL tool's command, run as `postgres` when we are root (the
/// server tools refuse root).
fn tool_command(bin: &Path, tool: &str, args: &[&str]) -> Command {
    let program = bin.join(tool);
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    command.args(args);
    command
}

/// Runs a PostgreSQL tool; panics with its output when it fails.
fn run(bin: &Path, tool: &str, args: &[&str]) {
    let out = tool_command(bin, tool, args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PrivateCluster {
    /// A cluster that accepts TLS connections only (`hostssl`), with the given
    /// server certificate and key; `None` (the test skips) without PostgreSQL's
    /// server tools.
    pub fn start_tls_only(cert_pem: &Path, key_pem: &Path) -> Option<Self> {
        Self::start(
            "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
            "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
            &[(cert_pem, "server.crt"), (key_pem, "server.key")],
        )
    }

    /// A plain cluster (trust on loopback) a test may stop and start at will.
    pub fn start_plain() -> Option<Self> {
        Self::start("", "host all all 127.0.0.1/32 trust\n", &[])
    }

    fn start(conf: &str, hba: &str, files: &[(&Path, &str)]) -> Option<Self> {
        let Some(bin) = pg_bin() else {
            return crate::common::skip("no initdb under /usr/lib/postgresql");
        };
        let dir =
            std::env::temp_dir().join(format!("userlib-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("data");
        if is_root() {
            Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
        }
        run(
            &bin,
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
        );
        for (from, name) in files {
            std::fs::copy(from, data.join(name)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n{conf}",
            dir.display()
        );
        append(&data.join("postgresql.conf"), &conf);
        std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
        if is_root() {
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
        }
        if data.join("server.key").exists() {
            Command::new("chmod")
                .arg("600")
                .arg(data.join("server.key"))
                .status()
                .unwrap();
        }
        let cluster = Self { dir, port, bin };
        cluster.start_again();
        Some(cluster)
    }

    /// The server part of a URL for this cluster (no database name).
    pub fn server_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// `pg_ctl stop -m <mode>` (`fast` or `immediate`), waiting until it is down.
    pub fn stop(&self, mode: &str) {
        let data = self.dir.join("data");
        run(
            &self.bin,
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", mode, "-w", "stop"],
        );
    }

    /// Starts the (stopped) cluster again, waiting until it accepts connections.
    pub fn start_again(&self) {
        let (data, log) = (self.dir.join("data"), self.dir.join("log"));
        run(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let stop = ["-D", data.to_str().unwrap(), "-m", "immediate", "stop"];
        let _ = tool_command(&self.bin, "pg_ctl", &stop).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A test CA and a server certificate it signed for `localhost` only (the
/// `openssl` command line), plus a second, unrelated CA.
pub struct TestCerts {
    pub dir: PathBuf,
}

impl TestCerts {
    pub fn make() -> Self {
        let dir =
            std::env::temp_dir().join(format!("userlib-certs-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let sh = |script: &str| {
            let out = Command::new("sh")
                .arg("-c")
                .arg(script)
                .current_dir(&dir)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{script}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        for ca in ["ca", "other-ca"] {
            sh(&format!(
                "openssl req -x509 -newkey rsa:2048 -nodes -keyout {ca}.key -out {ca}.crt -days 2 -subj '/CN=userlib test {ca}'"
            ));
        }
        sh(
            "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost'",
        );
        std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
        sh(
            "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext",
        );
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for TestCerts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
