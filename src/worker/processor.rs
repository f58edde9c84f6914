//! The at-least-once loop: poll a batch, answer it with one use-case call, produce
//! every reply (or dead-letter copy), and only once the broker has acknowledged
//! all of them store the batch's offsets — as rust-rdkafka's at_least_once example
//! does, per batch. A crash at any point loses nothing; it may repeat a reply.
//!
//! Up to `KAFKA_BATCHES_IN_FLIGHT` answered batches await their acknowledgements
//! while the next is polled and answered (a broker's ack takes longer than the
//! database's answer). Batches are answered and produced one after another, in
//! poll order, and their offsets are stored in that order: a batch's offsets only
//! once every earlier batch's are.
//!
//! Failures are kept apart:
//! * business ("User not found", no customer, no card) → a `failed` reply;
//! * malformed → the original bytes to the dead-letter topic, then move on;
//! * transient (database or broker down) → no reply, no offset; the batch is
//!   retried with capped backoff while the consumer stays in its group (its
//!   partitions paused, the consumer still polled for rebalances).
//!
//! Close to 400 lines: the loop, its waits and its offset bookkeeping are
//! one state machine; splitting it would scatter the at-least-once argument.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use rdkafka::Message;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;

use rdkafka::producer::FutureProducer;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::WorkerError;
use super::health::{Heartbeat, Probe};
use super::kafka::{self, WorkerConsumer};
use super::outgoing::{self, Acks, Item};
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

    /// Runs until `shutdown` is cancelled: then waits (bounded) for the batches
    /// in flight, commits, and leaves the group.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), WorkerError> {
        if !self.wait_until_ready(&shutdown).await? {
            return Ok(());
        }
        self.consumer.subscribe(&[&self.settings.commands_topic])?;
        tracing::info!(topic = %self.settings.commands_topic, group = %self.settings.group_id, "consuming commands");
        let mut in_flight: FuturesOrdered<Acks> = FuturesOrdered::new();
        loop {
            self.heartbeat.tick();
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                Some((items, acked)) = in_flight.next(), if !in_flight.is_empty() => match acked {
                    Ok(()) => finish(&self.consumer, &items),
                    Err(e) => {
                        // This batch needs a retry, and no later batch's offsets
                        // may be stored before its: settle them all, in order.
                        let mut batches = vec![(items, Err(Transient::Broker(e)))];
                        batches.extend(drain(&mut in_flight).await);
                        self.settle_in_order(batches, &shutdown).await;
                    }
                },
                first = self.first_message(), if in_flight.len() < self.settings.batches_in_flight => {
                    // `None` is an idle second: on to the checks below.
                    if let Some(first) = first {
                        self.take(first, &mut in_flight, &shutdown).await;
                    }
                }
            }
            if let Some((code, reason)) = self.consumer.client().fatal_error() {
                return Err(WorkerError::Fatal(format!("{code:?}: {reason}")));
            }
        }
        // What is already produced is worth its offsets: wait (bounded) for its
        // acknowledgements, storing in order up to the first batch not delivered.
        let acknowledged = async {
            while let Some((items, Ok(()))) = in_flight.next().await {
                finish(&self.consumer, &items);
            }
        };
        if tokio::time::timeout(CLOSE_TIMEOUT, acknowledged)
            .await
            .is_err()
        {
            tracing::warn!(
                "replies still unacknowledged at exit; their commands will be redelivered"
            );
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

    /// The next message, or `None` after an idle second (so the loop ticks its
    /// heartbeat) or a consumer error. Cancel-safe: a message is taken off the
    /// consumer's queue only in the poll that returns it.
    async fn first_message(&self) -> Option<Item> {
        match tokio::time::timeout(IDLE_POLL, self.consumer.recv()).await {
            Ok(Ok(m)) => Some(Item::new(m.detach())),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "consumer error");
                tokio::time::sleep(FIRST_BACKOFF).await;
                None
            }
            Err(_) => None,
        }
    }

    /// The batch that starts with `first`: whatever else arrives within the
    /// batch wait, up to the batch size.
    async fn rest_of_batch(&self, first: Item) -> Vec<Item> {
        let mut items = vec![first];
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

    /// Answers the batch that starts with `first` and puts it in flight.
    async fn take(
        &self,
        first: Item,
        in_flight: &mut FuturesOrdered<Acks>,
        shutdown: &CancellationToken,
    ) {
        let mut items = self.rest_of_batch(first).await;
        metrics::histogram!(names::WORKER_BATCH_SIZE).record(items.len() as f64);
        match outgoing::answer(&self.service, &mut items).await {
            Ok(()) => in_flight.push_back(outgoing::deliver(&self.producer, &self.settings, items)),
            Err(e) => {
                // Retried in poll order: the batches before it first.
                let mut batches = drain(in_flight).await;
                batches.push((items, Err(Transient::Database(e))));
                self.settle_in_order(batches, shutdown).await;
            }
        }
    }

    /// Settles batches one at a time, in poll order. After one given up on
    /// (shutdown), no later offsets are stored: all of it is redelivered.
    async fn settle_in_order(&self, batches: Vec<Batch>, shutdown: &CancellationToken) {
        for (items, result) in batches {
            if !self.settle(items, result, shutdown).await {
                return;
            }
        }
    }

    /// Retries a batch until every message is answered and acknowledged, then
    /// stores its offsets. `false` when it gave up (shutdown: redelivered later).
    async fn settle(
        &self,
        mut items: Vec<Item>,
        mut result: Result<(), Transient>,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let Err(e) = result else {
                finish(&self.consumer, &items);
                return true;
            };
            metrics::counter!(names::WORKER_RETRIES).increment(1);
            let pending = items.iter().filter(|i| !i.delivered).count();
            tracing::warn!(error = %e, pending, retry_in = ?backoff, "batch not answered yet, retrying");
            if !self.wait_paused(&mut items, backoff, shutdown).await {
                tracing::warn!(
                    pending,
                    "shutting down with an unanswered batch; it will be redelivered"
                );
                return false;
            }
            backoff = next_backoff(backoff);
            result = outgoing::answer(&self.service, &mut items)
                .await
                .map_err(Transient::Database);
            if result.is_ok() {
                let acked;
                (items, acked) = outgoing::deliver(&self.producer, &self.settings, items).await;
                result = acked.map_err(Transient::Broker);
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

/// A polled batch and whether it is answered and acknowledged yet.
type Batch = (Vec<Item>, Result<(), Transient>);

/// Every batch in flight, once the broker has answered for each, in poll order.
async fn drain(in_flight: &mut FuturesOrdered<Acks>) -> Vec<Batch> {
    let mut batches = Vec::new();
    while let Some((items, acked)) = in_flight.next().await {
        batches.push((items, acked.map_err(Transient::Broker)));
    }
    batches
}

/// A batch is done: every answer acknowledged. Stores, per partition, the
/// offset after its last message (everything before it is done too: earlier
/// batches were finished first) and counts the outcomes.
fn finish(consumer: &WorkerConsumer, items: &[Item]) {
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
        if let Err(e) = consumer.store_offset(topic, partition, offset) {
            tracing::debug!(topic, partition, offset, error = %e, "offset not stored");
        }
    }
    outgoing::record_outcomes(items);
}
