//! Primary-key reads that share a round trip.
//!
//! `GET /user/{id}` is the hot path, and every read was its own query: the
//! database's one-query-per-request ceiling capped it, while the HTTP stack
//! alone serves several times that. Reads that arrive while others are in
//! flight are therefore gathered and answered by one
//! `SELECT … WHERE clerk_user_id = ANY($1)` on a shared client
//! (`db/shared.rs`), as concurrent writes already share a commit
//! (`db/batch.rs`). Nothing waits for a batch to fill: a batch is whatever
//! queued while the previous ones ran, so a lone read goes out at once.
//!
//! * Each caller gets exactly its own row (rows are matched by id; an id with
//!   no row is `None` for its callers only); the same id asked twice in one
//!   batch is read once and answered to both.
//! * A read is sent after its request arrived, so it sees every write whose
//!   answer came before it.
//! * One statement with one array parameter: it works unchanged behind a
//!   transaction-mode pooler (one round trip, no session state).
//! * At most one batch per shared client is in flight; a caller that gives up
//!   (client gone, deadline) before its batch leaves is not read.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_postgres::Row;

use super::DbError;
use super::shared::SharedReads;

/// The most ids one statement carries.
const MAX_BATCH: usize = 256;

type Answer = oneshot::Sender<Result<Option<Row>, DbError>>;

/// Reads one row by primary key, batched with concurrent reads.
pub struct BatchedReads {
    reads: Arc<SharedReads>,
    /// Started on first use, inside the runtime.
    queue: OnceLock<mpsc::UnboundedSender<(String, Answer)>>,
}

impl BatchedReads {
    pub fn new(reads: Arc<SharedReads>) -> Self {
        Self {
            reads,
            queue: OnceLock::new(),
        }
    }

    /// The row of `id`, if there is one.
    pub async fn get(&self, id: &str) -> Result<Option<Row>, DbError> {
        let (answer, answered) = oneshot::channel();
        let queue = self.queue.get_or_init(|| {
            let (queue, queued) = mpsc::unbounded_channel();
            tokio::spawn(dispatch(queued, self.reads.clone()));
            queue
        });
        if queue.send((id.to_owned(), answer)).is_err() {
            return Err(DbError::Unavailable(super::TimedOut.into()));
        }
        answered
            .await
            .unwrap_or_else(|_| Err(DbError::Unavailable(super::TimedOut.into())))
    }
}

/// Takes a free client, then everything queued by then (up to [`MAX_BATCH`]
/// distinct ids), and reads it on a task of its own. Ends with the queue.
async fn dispatch(mut queued: mpsc::UnboundedReceiver<(String, Answer)>, reads: Arc<SharedReads>) {
    let in_flight = Arc::new(Semaphore::new(reads.clients()));
    while let Some(first) = queued.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let mut batch: HashMap<String, Vec<Answer>> = HashMap::new();
        let take = |batch: &mut HashMap<String, Vec<Answer>>, (id, answer): (String, Answer)| {
            if !answer.is_closed() {
                batch.entry(id).or_default().push(answer);
            }
        };
        take(&mut batch, first);
        while batch.len() < MAX_BATCH {
            match queued.try_recv() {
                Ok(item) => take(&mut batch, item),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let reads = reads.clone();
        tokio::spawn(async move {
            read(&reads, batch).await;
            drop(permit);
        });
    }
}

async fn read(reads: &SharedReads, batch: HashMap<String, Vec<Answer>>) {
    metrics::histogram!(crate::metrics::DB_READ_BATCH_SIZE).record(batch.len() as f64);
    let ids: Vec<&str> = batch.keys().map(String::as_str).collect();
    match reads.query(&[&ids]).await {
        Ok(rows) => {
            let mut rows: HashMap<String, Row> = rows
                .into_iter()
                .map(|row| (row.get::<_, String>(0), row))
                .collect();
            for (id, answers) in batch {
                let row = rows.remove(&id);
                for answer in answers {
                    let _ = answer.send(Ok(row.clone()));
                }
            }
        }
        Err(e) => {
            for answer in batch.into_values().flatten() {
                let _ = answer.send(Err(same_error(&e)));
            }
        }
    }
}

/// The batch's error for each of its callers (the cause is not `Clone`; its
/// text, all the logs need, is kept, and so is the kind the edges map).
fn same_error(e: &DbError) -> DbError {
    let cause = || -> super::Cause { e.to_string().into() };
    match e {
        DbError::Unavailable(_) => DbError::Unavailable(cause()),
        DbError::Conflict(c) => DbError::Conflict(*c),
        DbError::LegacySchema => DbError::LegacySchema,
        DbError::TlsSetup(why) => DbError::TlsSetup(why.clone()),
        DbError::Internal(_) => DbError::Internal(cause()),
    }
}
