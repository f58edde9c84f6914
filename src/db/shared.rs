//! Connections shared by concurrent primary-key reads.
//!
//! A pool lends each request a connection of its own, so every read costs a
//! write and a read system call on its connection. tokio-postgres pipelines
//! queries that several tasks issue on one client: they leave in one write and
//! their answers arrive in one read. `GET /user/{id}`, the hot path, therefore
//! goes through a few shared clients; everything else uses the pool.
//!
//! A client whose connection has ended (server restart, network cut) is
//! replaced on next use, so recovery needs no restart.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use postgres_openssl::MakeTlsConnector;
use tokio_postgres::Client;

use super::DbError;
use super::sql::{Prepared, Sql};
use crate::config::Pooler;

struct Reader {
    client: Client,
    statement: Prepared,
}

pub struct SharedReads {
    pg: tokio_postgres::Config,
    tls: MakeTlsConnector,
    pooler: Pooler,
    sql: Sql,
    slots: Vec<RwLock<Option<Arc<Reader>>>>,
    /// Serialises reconnecting a slot.
    reconnecting: Vec<tokio::sync::Mutex<()>>,
    next: AtomicUsize,
}

impl SharedReads {
    /// `clients` shared clients running the prepared `sql`.
    pub fn new(
        pg: tokio_postgres::Config,
        tls: MakeTlsConnector,
        pooler: Pooler,
        sql: Sql,
        clients: usize,
    ) -> Self {
        let clients = clients.max(1);
        Self {
            pg,
            tls,
            pooler,
            sql,
            slots: (0..clients).map(|_| RwLock::new(None)).collect(),
            reconnecting: (0..clients).map(|_| tokio::sync::Mutex::new(())).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Runs the statement with `params` on the next shared client.
    pub async fn query(
        &self,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, DbError> {
        self.run(|r| async move { r.statement.query(&r.client, params).await })
            .await
    }

    /// How many shared clients there are.
    pub fn clients(&self) -> usize {
        self.slots.len()
    }

    /// Runs another, rarely used statement on the next shared client, unnamed
    /// (readiness's schema check: it must not wait for the pool either).
    pub async fn query_unprepared(
        &self,
        sql: &Sql,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, DbError> {
        self.run(|r| async move { r.client.query_typed(sql.text, &sql.typed(params)).await })
            .await
    }

    /// Runs `op` on the next shared client. A connection that broke while idle
    /// (a network cut, a server restart) is only found out when it is used,
    /// and finding out can lose the race with the first request after the
    /// database came back. Reads are idempotent, so an operation that failed
    /// for want of a connection (no answer from the server at all) on a
    /// client it did not just open gets one more try on a new connection.
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, DbError>
    where
        F: Fn(Arc<Reader>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let (reader, fresh) = self.reader(i).await?;
        match op(reader.clone()).await {
            Err(e) if !fresh && e.as_db_error().is_none() => {
                tracing::debug!(error = %e, "shared read connection broke; reconnecting once");
                self.forget(i, &reader);
                let (reader, _) = self.reader(i).await?;
                Ok(op(reader).await?)
            }
            other => Ok(other?),
        }
    }

    /// Slot `i`'s client, and whether this call opened it.
    async fn reader(&self, i: usize) -> Result<(Arc<Reader>, bool), DbError> {
        if let Some(r) = self.live(i) {
            return Ok((r, false));
        }
        let _guard = self.reconnecting[i].lock().await;
        if let Some(r) = self.live(i) {
            return Ok((r, false)); // another task reconnected it meanwhile
        }
        let (client, connection) = self.pg.connect(self.tls.clone()).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "shared read connection ended");
            }
        });
        let statement = Prepared::new(&client, self.pooler, self.sql).await?;
        let reader = Arc::new(Reader { client, statement });
        *self.slots[i].write().expect("slot lock is never poisoned") = Some(reader.clone());
        Ok((reader, true))
    }

    /// Empties slot `i` if it still holds `broken`.
    fn forget(&self, i: usize, broken: &Arc<Reader>) {
        let mut slot = self.slots[i].write().expect("slot lock is never poisoned");
        if slot.as_ref().is_some_and(|r| Arc::ptr_eq(r, broken)) {
            *slot = None;
        }
    }

    fn live(&self, i: usize) -> Option<Arc<Reader>> {
        let slot = self.slots[i].read().expect("slot lock is never poisoned");
        slot.as_ref().filter(|r| !r.client.is_closed()).cloned()
    }
}
