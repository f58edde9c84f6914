//! A TCP proxy between the app and PostgreSQL that a test can cut and restore,
//! to simulate the database going away without touching the shared server.
//! It can also break connections silently: they stay open until their next
//! request, which is when a client finds out that a connection died while
//! idle (a NAT or server restart nobody told it about).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    /// Bumped on every cut: live connections watch it and close.
    cuts: watch::Sender<u64>,
    /// Bumped by `break_idle`: older connections close on their next request.
    breaks: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0u64);
        let breaks = Arc::new(AtomicU64::new(0));
        let upstream = upstream.to_owned();
        let task = {
            let up = up.clone();
            let cuts = cuts.clone();
            let breaks = breaks.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    if !up.load(Ordering::SeqCst) {
                        drop(client); // refused: closed right away
                        continue;
                    }
                    let mut cut = cuts.subscribe();
                    let breaks = breaks.clone();
                    let born = breaks.load(Ordering::SeqCst);
                    let upstream = upstream.clone();
                    tokio::spawn(async move {
                        let Ok(server) = TcpStream::connect(&upstream).await else {
                            return;
                        };
                        let (mut from_client, mut to_client) = client.into_split();
                        let (mut from_server, mut to_server) = server.into_split();
                        let requests = async {
                            let mut buf = vec![0u8; 16 * 1024];
                            loop {
                                let n = from_client.read(&mut buf).await?;
                                if n == 0 || breaks.load(Ordering::SeqCst) != born {
                                    return Ok::<_, std::io::Error>(());
                                }
                                to_server.write_all(&buf[..n]).await?;
                            }
                        };
                        tokio::select! {
                            _ = requests => {}
                            _ = tokio::io::copy(&mut from_server, &mut to_client) => {}
                            _ = cut.changed() => {}
                        }
                    });
                }
            })
        };
        Self {
            addr,
            up,
            cuts,
            breaks,
            task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every proxied connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// Every open connection closes, unanswered, on its next request; new
    /// connections work.
    pub fn break_idle(&self) {
        self.breaks.fetch_add(1, Ordering::SeqCst);
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
