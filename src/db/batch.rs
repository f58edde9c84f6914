//! Group commit for the hot single-row writes (ratings, profile syncs).
//!
//! One write per statement means one commit per write, and on a small server
//! the commit, not the row, is most of the cost: 64 clients each updating one
//! row reach about 4 500 commits/s on the benchmark machine
//! (`bench/write_path.sh`), with a p99 above 15 ms before any service is in
//! the path. Writes that arrive while others are being applied are therefore
//! gathered and applied by one statement (`UPDATE … FROM unnest(…)`), and each
//! caller is answered once that statement has committed: the same guarantee
//! as one statement each, at a fraction of the cost per row. Nothing waits to
//! fill a batch — a batch is whatever queued while the previous ones ran — so
//! a lone write goes out at once, as before.
//!
//! * A batch holds each key (user) once, so every caller's answer is that of
//!   its own write; a second write to the same user starts the next batch.
//! * Keys are sorted, so two batches touching the same users lock them in the
//!   same order instead of deadlocking.
//! * A batch that fails as a whole (one item's unique conflict, a deadlock
//!   with some other statement) is applied again item by item, so one item's
//!   error is only that item's answer.
//! * A batch runs on a task of its own: a caller that gives up (client gone,
//!   deadline passed) cancels nobody else's write, and a write whose caller
//!   has already given up before its batch starts is not applied at all.
//!
//! No crate was a fit: the batching crates found (`batched-fn`, …) either
//! wait a fixed time for a batch to fill or run their own threads; this is a
//! channel, a semaphore and one dispatcher task.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use deadpool_postgres::{Client, Pool};
use futures_util::future::join_all;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::{DbError, TimedOut};

/// The most writes one statement carries.
const MAX_BATCH: usize = 128;

/// A kind of write that one statement can apply to many rows.
pub(in crate::db) trait BatchWrite: Send + Sync + 'static {
    type Item: Send + Sync + 'static;
    type Output: Send + 'static;

    /// Which metric label the batches of this write are counted under.
    const NAME: &'static str;

    /// The row the item writes; a batch holds each key once.
    fn key(item: &Self::Item) -> &str;

    /// Applies `items` (distinct keys, sorted) in one statement: one answer per
    /// item, in order, `None` for an item that must be applied on its own
    /// (e.g. a profile sync of a user who does not exist yet: an insert).
    fn apply_all(
        &self,
        client: &Client,
        items: &[&Self::Item],
    ) -> impl Future<Output = Result<Vec<Option<Self::Output>>, DbError>> + Send;

    /// Applies one item by itself.
    fn apply_one(
        &self,
        client: &Client,
        item: &Self::Item,
    ) -> impl Future<Output = Result<Self::Output, DbError>> + Send;
}

struct Pending<W: BatchWrite> {
    item: W::Item,
    answer: oneshot::Sender<Result<W::Output, DbError>>,
}

/// What the batchers of one repository share: the pool their statements run
/// on, the time one batch may take, and how many batches run at once.
#[derive(Clone)]
pub(in crate::db) struct Batches {
    pool: Pool,
    /// Bounds one batch, from waiting for a connection to the last row.
    timeout: Duration,
    in_flight: Arc<Semaphore>,
}

impl Batches {
    pub fn new(pool: Pool, timeout: Duration, in_flight: usize) -> Self {
        Self {
            pool,
            timeout,
            in_flight: Arc::new(Semaphore::new(in_flight)),
        }
    }

    /// A batcher for one kind of write, sharing this pool and budget.
    pub fn batcher<W: BatchWrite>(&self, write: W) -> Batcher<W> {
        Batcher {
            write: Arc::new(write),
            batches: self.clone(),
            queue: OnceLock::new(),
        }
    }
}

/// Queues writes of one kind and applies them in batches.
pub(in crate::db) struct Batcher<W: BatchWrite> {
    write: Arc<W>,
    batches: Batches,
    /// The dispatcher is started on first use, inside the runtime.
    queue: OnceLock<mpsc::UnboundedSender<Pending<W>>>,
}

impl<W: BatchWrite> Batcher<W> {
    /// Applies `item` together with whatever else is queued; answers once the
    /// statement that carried it has committed.
    pub async fn apply(&self, item: W::Item) -> Result<W::Output, DbError> {
        let (answer, answered) = oneshot::channel();
        // The queue only closes when the dispatcher is gone (its runtime shut
        // down); the answer is dropped only when the batch ran out of time.
        if self.queue().send(Pending { item, answer }).is_err() {
            return Err(DbError::Unavailable(TimedOut.into()));
        }
        answered
            .await
            .unwrap_or_else(|_| Err(DbError::Unavailable(TimedOut.into())))
    }

    fn queue(&self) -> &mpsc::UnboundedSender<Pending<W>> {
        self.queue.get_or_init(|| {
            let (queue, queued) = mpsc::unbounded_channel();
            tokio::spawn(dispatch(queued, self.write.clone(), self.batches.clone()));
            queue
        })
    }
}

/// Takes a permit, then everything queued by then, and applies up to
/// [`MAX_BATCH`] of it on a task of its own; a write whose user is already in
/// the batch waits, in arrival order, for a later one. Ends when the batcher
/// is dropped.
async fn dispatch<W: BatchWrite>(
    mut queued: mpsc::UnboundedReceiver<Pending<W>>,
    write: Arc<W>,
    batches: Batches,
) {
    let mut waiting: VecDeque<Pending<W>> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match queued.recv().await {
                Some(pending) => waiting.push_back(pending),
                None => return,
            }
        }
        let permit = batches
            .in_flight
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        while let Ok(pending) = queued.try_recv() {
            waiting.push_back(pending);
        }
        let batch = take_batch(&mut waiting, |p| W::key(&p.item));
        tokio::spawn(run(write.clone(), batches.clone(), batch, permit));
    }
}

/// Up to [`MAX_BATCH`] of `waiting`, each key once, in arrival order; the
/// rest stays, in arrival order.
fn take_batch<P>(waiting: &mut VecDeque<P>, key: impl Fn(&P) -> &str) -> Vec<P> {
    let mut batch: Vec<P> = Vec::with_capacity(waiting.len().min(MAX_BATCH));
    let mut later = VecDeque::new();
    for pending in waiting.drain(..) {
        if batch.len() < MAX_BATCH && !batch.iter().any(|p| key(p) == key(&pending)) {
            batch.push(pending);
        } else {
            later.push_back(pending);
        }
    }
    *waiting = later;
    batch
}

async fn run<W: BatchWrite>(
    write: Arc<W>,
    Batches { pool, timeout, .. }: Batches,
    mut batch: Vec<Pending<W>>,
    _permit: OwnedSemaphorePermit,
) {
    batch.retain(|p| !p.answer.is_closed());
    if batch.is_empty() {
        return;
    }
    batch.sort_unstable_by(|a, b| W::key(&a.item).cmp(W::key(&b.item)));
    metrics::histogram!(crate::metrics::DB_WRITE_BATCH_SIZE, "write" => W::NAME)
        .record(batch.len() as f64);
    let items: Vec<&W::Item> = batch.iter().map(|p| &p.item).collect();
    let started = std::time::Instant::now();
    // Out of time, every answer is dropped: callers see a timeout.
    let Ok(answers) = tokio::time::timeout(timeout, apply(&*write, &pool, &items)).await else {
        return;
    };
    metrics::histogram!(crate::metrics::DB_WRITE_BATCH_DURATION, "write" => W::NAME)
        .record(started.elapsed().as_secs_f64());
    drop(items);
    for (pending, answer) in batch.into_iter().zip(answers) {
        let _ = pending.answer.send(answer);
    }
}

async fn apply<W: BatchWrite>(
    write: &W,
    pool: &Pool,
    items: &[&W::Item],
) -> Vec<Result<W::Output, DbError>> {
    let client = match pool.get().await {
        Ok(client) => client,
        // Each item then meets (and reports) the failure itself.
        Err(_) => {
            return join_all(
                items
                    .iter()
                    .map(|item| async move { write.apply_one(&pool.get().await?, item).await }),
            )
            .await;
        }
    };
    let applied = match write.apply_all(&client, items).await {
        Ok(applied) => applied,
        Err(e) => {
            tracing::debug!(error = %e, size = items.len(), write = W::NAME,
                "a batched write failed as a whole; applying its items one by one");
            items.iter().map(|_| None).collect()
        }
    };
    // The items left over go out together on the batch's connection (pipelined).
    join_all(items.iter().zip(applied).map(|(item, applied)| async {
        match applied {
            Some(output) => Ok(output),
            None => write.apply_one(&client, item).await,
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(waiting: &mut VecDeque<(&'static str, u32)>) -> Vec<(&'static str, u32)> {
        take_batch(waiting, |p| p.0)
    }

    #[test]
    fn a_batch_holds_each_user_once_and_the_rest_waits_in_order() {
        let mut waiting: VecDeque<_> =
            [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("a", 5), ("b", 6)].into();
        assert_eq!(take(&mut waiting), [("a", 1), ("b", 2), ("c", 4)]);
        assert_eq!(take(&mut waiting), [("a", 3), ("b", 6)]);
        assert_eq!(take(&mut waiting), [("a", 5)]);
        assert!(waiting.is_empty());
    }

    #[test]
    fn a_batch_is_capped_and_the_overflow_keeps_its_order() {
        static KEYS: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| (0..300).map(|i| format!("u{i}")).collect());
        let mut waiting: VecDeque<&str> = KEYS.iter().map(String::as_str).collect();
        let first = take_batch(&mut waiting, |k| k);
        assert_eq!(first.len(), MAX_BATCH);
        assert_eq!(first[0], "u0");
        assert_eq!(waiting.front().copied(), Some(KEYS[MAX_BATCH].as_str()));
        assert_eq!(take_batch(&mut waiting, |k| k).len(), MAX_BATCH);
        assert_eq!(take_batch(&mut waiting, |k| k).len(), 300 - 2 * MAX_BATCH);
        assert!(waiting.is_empty());
    }
}
