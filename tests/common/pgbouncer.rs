//! A real PgBouncer (Debian's, 1.18: no prepared-statement tracking) in
//! transaction mode, in front of the test server, on a free port, for one
//! test; stopped and removed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct PgBouncer {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

/// PgBouncer's program: `PGBOUNCER`, else on the PATH or in /usr/sbin.
pub fn binary() -> Option<PathBuf> {
    let sbin = PathBuf::from("/usr/sbin/pgbouncer");
    if std::env::var_os("PGBOUNCER").is_none() && sbin.is_file() {
        return Some(sbin);
    }
    crate::common::real_client("PGBOUNCER", &["pgbouncer"])
}

impl PgBouncer {
    /// Transaction pooling with at most `server_connections` connections to
    /// the server per database; `None` (the test skips) without PgBouncer.
    pub fn start(server_connections: u32) -> Option<Self> {
        let program = binary()?;
        let (host, pg_port) = super::pg_host_port();
        let dir = std::env::temp_dir().join(format!(
            "userlib-pgbouncer-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let port = super::free_port();
        let user = "postgres";
        std::fs::write(dir.join("users.txt"), format!("\"{user}\" \"\"\n")).unwrap();
        let ini = format!(
            "[databases]\n\
             * = host={host} port={pg_port} user={user}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = trust\n\
             auth_file = {dir}/users.txt\n\
             pool_mode = transaction\n\
             default_pool_size = {server_connections}\n\
             max_db_connections = {server_connections}\n\
             min_pool_size = 0\n\
             reserve_pool_size = 0\n\
             max_client_conn = 2000\n\
             listen_backlog = 4096\n\
             server_reset_query =\n\
             admin_users = {user}\n\
             stats_users = {user}\n\
             logfile = {dir}/pgbouncer.log\n\
             pidfile = {dir}/pgbouncer.pid\n",
            dir = dir.display()
        );
        let ini_path = dir.join("pgbouncer.ini");
        std::fs::write(&ini_path, ini).unwrap();
        let mut command = Command::new(program);
        if super::private_pg::is_root() {
            // PgBouncer refuses to run as root; it drops to this user itself.
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(&ini_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer");
        let bouncer = Self { port, dir, child };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(bouncer);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("pgbouncer did not listen on {port}: {}", bouncer.log());
    }

    /// The URL of `database` through this PgBouncer.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// PgBouncer's admin console.
    pub fn console(&self) -> Console {
        Console {
            url: self.url("pgbouncer"),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }
}

/// PgBouncer's admin console (the `pgbouncer` database).
pub struct Console {
    url: String,
}

impl Console {
    /// Client and server connections of `database`'s pool (`SHOW POOLS`):
    /// (clients, servers).
    pub async fn pools(&self, database: &str) -> (i64, i64) {
        let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("connect to the pgbouncer console");
        tokio::spawn(conn);
        let messages = client.simple_query("SHOW POOLS").await.unwrap();
        let mut totals = (0, 0);
        for message in messages {
            if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
                if row.get("database") != Some(database) {
                    continue;
                }
                let n = |c: &str| row.get(c).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
                totals.0 += n("cl_active") + n("cl_waiting");
                totals.1 +=
                    n("sv_active") + n("sv_idle") + n("sv_used") + n("sv_tested") + n("sv_login");
            }
        }
        totals
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
