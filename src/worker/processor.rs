//! The at-least-once loop: poll a batch, answer it with one use-case call, produce
//! every reply (or dead-letter copy), and only once the broker has acknowledged
//! all of them store the batch's offsets — as rust-rdkafka's at_least_once example
//! does, per batch. A crash at any point loses nothing; it may repeat a reply.
//!
//! Failures are kept apart:
//! * business ("User not found", no customer, no card) → a `failed` reply;
//! * malformed → the original bytes to the dead-letter topic, then move on;
//! * transient (database or broker down) → no reply, no offset; the batch is
//!   retried with capped backoff while the consumer stays in its group (its
//!   partitions paused, the consumer still polled for rebalances).
//!
//! A little over 350 lines: the loop, its waits and its offset bookkeeping are
//! one state machine; splitting it would scatter the at-least-once argument.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rdkafka::Message;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;

use rdkafka::producer::FutureProducer;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::WorkerError;
use super::command::{self, Command};
use super::health::{Heartbeat, Probe};
use super::kafka::{self, WorkerConsumer};
use super::outgoing::{self, Item, Outgoing, Parsed};
use crate::config::KafkaSettings;
use crate::metrics as names;
use crate::service::{ServiceError, UserService};

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Why a batch could not be finished now; it is retried, never answered "failed".
#[derive(Debug, thiserror::Error)]
enum Transient {
    #[error("database: {0}")]
    Database(ServiceError),
    #[error("broker: {0}")]
    Broker(KafkaError),
}

pub struct Worker {
    consumer: Arc<WorkerConsumer>,
    producer: FutureProducer,
    service: Arc<UserService>,
    settings: KafkaSettings,
    heartbeat: Arc<Heartbeat>,
}

/// The longest the worker waits for its Kafka clients to close at exit.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an idle poll waits before the loop ticks its heartbeat.
const IDLE_POLL: Duration = Duration::from_secs(1);

impl Worker {
    pub fn new(settings: &KafkaSettings, service: Arc<UserService>) -> Result<Self, WorkerError> {
        Ok(Self {
            consumer: Arc::new(kafka::consumer(settings)?),
            producer: kafka::producer(settings)?,
            service,
            settings: settings.clone(),
            heartbeat: Arc::default(),
        })
    }

    /// What the worker's HTTP probes look at.
    pub fn probe(&self) -> Probe {
        Probe {
            heartbeat: self.heartbeat.clone(),
            consumer: Arc::downgrade(&self.consumer),
            service: self.service.clone(),
        }
    }

    /// Runs until `shutdown` is cancelled: then finishes the batch in hand,
    /// commits, and leaves the group.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), WorkerError> {
        if !self.wait_until_ready(&shutdown).await? {
            return Ok(());
        }
        self.consumer.subscribe(&[&self.settings.commands_topic])?;
        tracing::info!(topic = %self.settings.commands_topic, group = %self.settings.group_id, "consuming commands");
        loop {
            self.heartbeat.tick();
            let batch = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                batch = self.next_batch() => batch,
            };
            if !batch.is_empty() {
                self.handle(batch, &shutdown).await;
            }
            if let Some((code, reason)) = self.consumer.client().fatal_error() {
                return Err(WorkerError::Fatal(format!("{code:?}: {reason}")));
            }
        }
        tracing::info!("stopping: committing offsets and leaving the group");
        // Committing and closing block on the network; off the async threads, and
        // bounded: with the broker already gone, librdkafka's close can wait for
        // a very long time, and everything that matters is committed or not by now.
        let Worker {
            consumer, producer, ..
        } = self;
        let closing = tokio::task::spawn_blocking(move || {
            kafka::commit_stored(&*consumer);
            consumer.unsubscribe();
            drop(producer);
            drop(consumer);
        });
        if tokio::time::timeout(CLOSE_TIMEOUT, closing).await.is_err() {
            tracing::warn!(timeout = ?CLOSE_TIMEOUT, "Kafka clients did not close in time (broker gone?)");
        }
        Ok(())
    }

    /// Waits (logging) for the database, then checks the broker has our topics.
    /// `Ok(false)` when shut down while waiting.
    async fn wait_until_ready(&self, shutdown: &CancellationToken) -> Result<bool, WorkerError> {
        // Waiting for dependencies is not being stuck: the heartbeat ticks, so
        // liveness holds (and the pod is not restarted) while readiness says 503.
        let mut backoff = FIRST_BACKOFF;
        while let Err(e) = {
            self.heartbeat.tick();
            self.service.check_ready().await
        } {
            tracing::warn!(error = %e, retry_in = ?backoff, "waiting for the database");
            if sleep_or_cancelled(backoff, shutdown).await {
                return Ok(false);
            }
            backoff = next_backoff(backoff);
        }
        let topics = [
            self.settings.commands_topic.clone(),
            self.settings.events_topic.clone(),
            self.settings.dlq_topic.clone(),
            self.settings.directory_topic.clone(),
        ];
        let mut backoff = FIRST_BACKOFF;
        loop {
            self.heartbeat.tick();
            let consumer = self.consumer.clone();
            let names = topics.clone();
            let checked = tokio::task::spawn_blocking(move || {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                kafka::missing_topics(&consumer, &names, Duration::from_secs(5))
            })
            .await
            .expect("the metadata task does not panic");
            match checked {
                Ok(missing) if missing.is_empty() => return Ok(true),
                Ok(missing) => return Err(WorkerError::MissingTopics(missing.join(", "))),
                Err(e) => tracing::warn!(
                    error = %e, bootstrap = %self.settings.bootstrap_servers, retry_in = ?backoff,
                    "waiting for the Kafka broker"
                ),
            }
            if sleep_or_cancelled(backoff, shutdown).await {
                return Ok(false);
            }
            backoff = next_backoff(backoff);
        }
    }

    /// What one poll yields: the first message, then whatever else arrives within
    /// the batch wait, up to the batch size.
    async fn next_batch(&self) -> Vec<Item> {
        let mut items = Vec::new();
        match tokio::time::timeout(IDLE_POLL, self.consumer.recv()).await {
            Ok(Ok(m)) => items.push(Item::new(m.detach())),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "consumer error");
                tokio::time::sleep(FIRST_BACKOFF).await;
                return items;
            }
            Err(_) => return items, // idle: let the loop tick
        }
        let deadline = Instant::now() + self.settings.batch_wait;
        while items.len() < self.settings.batch_size {
            match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                Ok(Ok(m)) => items.push(Item::new(m.detach())),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "consumer error");
                    break;
                }
                Err(_) => break,
            }
        }
        items
    }

    /// Processes a batch until every message is answered and acknowledged, then
    /// stores its offsets. Gives up only on shutdown (the batch is redelivered).
    async fn handle(&self, mut items: Vec<Item>, shutdown: &CancellationToken) {
        metrics::histogram!(names::WORKER_BATCH_SIZE).record(items.len() as f64);
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.process(&mut items).await {
                Ok(()) => {
                    self.store_offsets(&items);
                    outgoing::record_outcomes(&items);
                    return;
                }
                Err(e) => {
                    metrics::counter!(names::WORKER_RETRIES).increment(1);
                    let pending = items.iter().filter(|i| !i.delivered).count();
                    tracing::warn!(error = %e, pending, retry_in = ?backoff, "batch not answered yet, retrying");
                    if !self.wait_paused(&mut items, backoff, shutdown).await {
                        tracing::warn!(
                            pending,
                            "shutting down with an unanswered batch; it will be redelivered"
                        );
                        return;
                    }
                    backoff = next_backoff(backoff);
                }
            }
        }
    }

    async fn process(&self, items: &mut [Item]) -> Result<(), Transient> {
        for item in items.iter_mut().filter(|i| i.outgoing.is_none()) {
            if let Parsed::Malformed(m) = item.parsed {
                item.outgoing = Some(Outgoing::DeadLetter(m));
            }
        }
        let (positions, commands): (Vec<usize>, Vec<&Command>) = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match (&item.outgoing, &item.parsed) {
                (None, Parsed::Command(c)) => Some((i, c)),
                _ => None,
            })
            .unzip();
        if !commands.is_empty() {
            let replies = command::apply(&self.service, &commands, Utc::now())
                .await
                .map_err(Transient::Database)?;
            for (i, reply) in positions.into_iter().zip(replies) {
                items[i].outgoing = Some(Outgoing::Reply(reply));
            }
        }

        let sends = items
            .iter()
            .enumerate()
            .filter(|(_, item)| !item.delivered)
            .map(|(i, item)| {
                let sent = outgoing::send(&self.producer, &self.settings, item);
                async move { (i, sent.await) }
            });
        let results = futures_util::future::join_all(sends).await;
        let mut first_error = None;
        for (i, result) in results {
            match result {
                Ok(()) => items[i].delivered = true,
                // Refused for good: retrying would block the partition for
                // ever (and again after a restart). Dead-letter a truncated
                // copy instead, or, if even that is refused, pass it over.
                Err(e) => match outgoing::is_permanent(&e) {
                    Some(reason) => {
                        let item = &mut items[i];
                        item.outgoing = Some(match item.outgoing {
                            Some(Outgoing::Unproducible(_)) => {
                                tracing::error!(
                                    reason,
                                    partition = item.msg.partition(),
                                    offset = item.msg.offset(),
                                    "even a truncated dead-letter copy was refused; skipping the message"
                                );
                                Outgoing::Skipped
                            }
                            _ => Outgoing::Unproducible(reason),
                        });
                        first_error.get_or_insert(e);
                    }
                    None => {
                        first_error.get_or_insert(e);
                    }
                },
            }
        }
        first_error.map_or(Ok(()), |e| Err(Transient::Broker(e)))
    }

    /// Stores, per partition, the offset after the batch's last message. Every
    /// message of the batch is acknowledged by now, so everything before it is too.
    fn store_offsets(&self, items: &[Item]) {
        let mut last: HashMap<(&str, i32), i64> = HashMap::new();
        for item in items {
            let offset = last
                .entry((item.msg.topic(), item.msg.partition()))
                .or_insert(item.msg.offset());
            *offset = (*offset).max(item.msg.offset());
        }
        for ((topic, partition), offset) in last {
            // `store_offset` records offset + 1, the next message to read. It fails
            // for a partition no longer assigned to us: its new owner redoes it.
            if let Err(e) = self.consumer.store_offset(topic, partition, offset) {
                tracing::debug!(topic, partition, offset, error = %e, "offset not stored");
            }
        }
    }

    /// Waits out a transient failure with our partitions paused, still polling so
    /// that rebalances are served and `max.poll.interval.ms` is never exceeded.
    /// Afterwards drops messages of partitions we lost. `false` on shutdown.
    async fn wait_paused(
        &self,
        items: &mut Vec<Item>,
        backoff: Duration,
        shutdown: &CancellationToken,
    ) -> bool {
        let paused = self.consumer.assignment().ok();
        if let Some(paused) = &paused {
            let _ = self.consumer.pause(paused);
        }
        let sleep = tokio::time::sleep(backoff);
        tokio::pin!(sleep);
        let keep_going = loop {
            self.heartbeat.tick();
            tokio::select! {
                () = &mut sleep => break true,
                () = shutdown.cancelled() => break false,
                polled = self.consumer.recv() => match polled {
                    // Only from partitions assigned during the wait (not paused).
                    Ok(m) => items.push(Item::new(m.detach())),
                    Err(e) => {
                        tracing::debug!(error = %e, "consumer error while waiting");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        };
        // Resume what was paused even if it was lost meanwhile (a pause
        // outlives the assignment in librdkafka), and what we hold now.
        if let Some(paused) = &paused {
            let _ = self.consumer.resume(paused);
        }
        if let Ok(assignment) = self.consumer.assignment() {
            items.retain(|i| {
                assignment
                    .find_partition(i.msg.topic(), i.msg.partition())
                    .is_some()
            });
            let _ = self.consumer.resume(&assignment);
        }
        keep_going
    }
}

/// Doubles a retry delay, up to `MAX_BACKOFF`.
fn next_backoff(backoff: Duration) -> Duration {
    (backoff * 2).min(MAX_BACKOFF)
}

/// `true` when cancelled before `duration` passed.
async fn sleep_or_cancelled(duration: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => false,
        () = shutdown.cancelled() => true,
    }
}
