//! The load every scenario runs under, and what it saw: HTTP clients each
//! writing and reading their own user, and a command producer at a fixed rate
//! that remembers when it sent each correlation id.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{Mutex, MutexGuard};
use tokio::task::JoinHandle;

use crate::common::TestDb;
use crate::common::kafka::{Record, Topics};

/// `CHAOS_SCALE=long`: the sizes and outages (minutes, not seconds).
pub fn long() -> bool {
    std::env::var("CHAOS_SCALE").is_ok_and(|v| v == "long")
}

/// `short` in CI, `long` under `CHAOS_SCALE=long`.
pub fn size<T>(short: T, long: T) -> T {
    if self::long() { long } else { short }
}

/// One scenario at a time: each loads both cores, and timings would mix.
pub async fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::const_new(());
    LOCK.lock().await
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A fresh migrated database on `server` holding `user_paid`, who has a
/// stored card: every command for them is answered `payment_info_retrieved`.
pub async fn paid_user_db(server: &str) -> TestDb {
    let db = TestDb::create_migrated_on(server).await;
    db.insert_paid_user("user_paid").await;
    db
}

/// Waits (up to `within`) for the replies to `sent`; asserts that every
/// command was answered and none with a failure.
pub async fn every_command_answered(
    topics: &Topics,
    sent: &[Sent],
    within: Duration,
    what: &str,
) -> (Answered, Vec<Record>) {
    let ids: Vec<String> = sent.iter().map(|s| s.id.clone()).collect();
    let replies = topics.replies_for(&ids, within).await;
    let answered = Answered::of(sent, &replies);
    answered.assert_all_answered(what);
    assert_eq!(answered.failed, 0, "{what}: no payment_info_failed reply");
    (answered, replies)
}

/// A `get_payment_info` command in the orchestrators' nested form.
pub fn command(correlation_id: &str, user_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": "get_payment_info", "correlation_id": correlation_id,
        "timestamp": "2025-04-01T10:00:00.123456", "payload": {"user_id": user_id}
    }))
    .unwrap()
}

/// A command sent, and when (wall clock, like the reply's timestamp).
#[derive(Debug, Clone)]
pub struct Sent {
    pub id: String,
    pub at_ms: i64,
}

/// Commands for `user_paid` at a steady rate, each keyed by its correlation id
/// so they spread over every partition; delivery is awaited in the background,
/// so a broker outage does not slow the rate (librdkafka buffers them).
pub struct CommandLoad {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    task: JoinHandle<Vec<Sent>>,
}

impl CommandLoad {
    pub fn start(topics: Arc<Topics>, prefix: &str, per_second: u32, limit: usize) -> Self {
        let (stop, sent) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let task = {
            let (stop, counter, prefix) = (stop.clone(), sent.clone(), prefix.to_owned());
            tokio::spawn(async move {
                let started = Instant::now();
                let mut sent = Vec::new();
                let mut deliveries = Vec::new();
                while !stop.load(Ordering::Relaxed) && sent.len() < limit {
                    let due = (started.elapsed().as_secs_f64() * f64::from(per_second)) as usize;
                    while sent.len() < due.min(limit) {
                        let id = format!("{prefix}-{}", sent.len());
                        let topics = topics.clone();
                        let key = id.clone();
                        deliveries.push(tokio::spawn(async move {
                            topics.send_raw(&key, &command(&key, "user_paid")).await
                        }));
                        sent.push(Sent {
                            id,
                            at_ms: now_ms(),
                        });
                    }
                    counter.store(sent.len(), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                for d in deliveries {
                    d.await.expect("every command is delivered to the broker");
                }
                sent
            })
        };
        Self { stop, sent, task }
    }

    pub fn sent_so_far(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// Stops sending; every command sent so far, once the broker has it.
    pub async fn stop(self) -> Vec<Sent> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap()
    }

    /// Waits until `limit` commands were sent (and delivered).
    pub async fn finish(self) -> Vec<Sent> {
        self.task.await.unwrap()
    }
}

/// What the replies to `sent` say: every id answered at least once?
pub struct Answered {
    pub missing: Vec<String>,
    pub duplicates: usize,
    /// Reply timestamp minus send time, per command (first reply), sorted.
    pub latencies_ms: Vec<i64>,
    /// Reply types other than `user.payment_info_retrieved`.
    pub failed: usize,
    /// Per command (first reply): (sent at, latency).
    pub by_send_time: Vec<(i64, i64)>,
}

impl Answered {
    pub fn of(sent: &[Sent], replies: &[Record]) -> Self {
        let mut first: HashMap<&str, &Record> = HashMap::new();
        let mut duplicates = 0;
        let mut failed = 0;
        for r in replies {
            let Some(key) = r.key.as_deref() else {
                continue;
            };
            if r.json()["type"] != "user.payment_info_retrieved" {
                failed += 1;
            }
            if first.insert(key, r).is_some() {
                duplicates += 1;
            }
        }
        let mut missing = Vec::new();
        let mut by_send_time = Vec::new();
        for s in sent {
            match first.get(s.id.as_str()) {
                Some(r) => by_send_time.push((s.at_ms, r.timestamp.unwrap_or(s.at_ms) - s.at_ms)),
                None => missing.push(s.id.clone()),
            }
        }
        let mut latencies_ms: Vec<i64> = by_send_time.iter().map(|(_, l)| *l).collect();
        latencies_ms.sort_unstable();
        Self {
            missing,
            duplicates,
            latencies_ms,
            failed,
            by_send_time,
        }
    }

    pub fn assert_all_answered(&self, what: &str) {
        assert!(
            self.missing.is_empty(),
            "{what}: {} commands never answered, e.g. {:?}",
            self.missing.len(),
            &self.missing[..self.missing.len().min(5)]
        );
    }

    pub fn percentile(&self, p: f64) -> i64 {
        percentile(&self.latencies_ms, p)
    }

    /// The longest a command sent in `[from_ms, to_ms)` waited for its reply.
    pub fn worst_sent_between(&self, from_ms: i64, to_ms: i64) -> i64 {
        self.by_send_time
            .iter()
            .filter(|(at, _)| (from_ms..to_ms).contains(at))
            .map(|(_, l)| *l)
            .max()
            .unwrap_or(0)
    }
}

pub fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One HTTP request as a client saw it.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When it was sent, from the start of the load.
    pub at: Duration,
    /// 0: no HTTP answer at all (refused, reset, or past the client's 30 s).
    pub status: u16,
    pub latency: Duration,
    pub client: usize,
    /// For a write: the value it set (`first_name = v<seq>`).
    pub write_seq: Option<u64>,
}

/// `clients` HTTP clients, each syncing its own user (`user_load<i>`) with a
/// new first name, then reading it back, for as long as the load runs.
pub struct HttpLoad {
    pub started: Instant,
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<Vec<Sample>>>,
}

impl HttpLoad {
    pub fn start(base: &str, clients: usize) -> Self {
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let tasks = (0..clients)
            .map(|client| {
                let (stop, http, base) = (stop.clone(), http.clone(), base.to_owned());
                tokio::spawn(async move {
                    let id = format!("user_load{client}");
                    let mut samples = Vec::new();
                    let mut seq = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        seq += 1;
                        let body = json!({"clerk_user_id": id,
                                          "email": format!("load{client}@example.com"),
                                          "first_name": format!("v{seq}")});
                        let write = http
                            .post(format!("{base}/api/user/sync-from-frontend"))
                            .json(&body);
                        samples.push(timed(started, client, Some(seq), write).await);
                        let read = http.get(format!("{base}/api/user/{id}"));
                        samples.push(timed(started, client, None, read).await);
                    }
                    samples
                })
            })
            .collect();
        Self {
            started,
            stop,
            tasks,
        }
    }

    pub async fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for t in self.tasks {
            all.extend(t.await.unwrap());
        }
        all.sort_by_key(|s| s.at);
        all
    }
}

async fn timed(
    started: Instant,
    client: usize,
    write_seq: Option<u64>,
    request: reqwest::RequestBuilder,
) -> Sample {
    let at = started.elapsed();
    let t = Instant::now();
    let status = match request.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            // Read the body: an answer is only whole once it has arrived.
            let _ = resp.bytes().await;
            status
        }
        Err(_) => 0,
    };
    Sample {
        at,
        status,
        latency: t.elapsed(),
        client,
        write_seq,
    }
}

/// The last write each client saw acknowledged (200): nothing may undo it.
pub fn acknowledged_writes(samples: &[Sample]) -> HashMap<usize, u64> {
    let mut last = HashMap::new();
    for s in samples {
        if let (Some(seq), 200) = (s.write_seq, s.status) {
            let e = last.entry(s.client).or_insert(0);
            *e = (*e).max(seq);
        }
    }
    last
}

/// Counts per status, for the report.
pub fn statuses(samples: &[Sample]) -> std::collections::BTreeMap<u16, usize> {
    let mut n = std::collections::BTreeMap::new();
    for s in samples {
        *n.entry(s.status).or_default() += 1;
    }
    n
}
