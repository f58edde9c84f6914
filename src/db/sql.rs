//! A statement with its parameter types, and the one place that decides how it
//! reaches the server.
//!
//! Directly (or through a session pooler) a statement is prepared once per
//! connection and reused: the server plans it once. Behind a transaction
//! pooler (PgBouncer before 1.21 does not track prepared statements) the next
//! message of a connection may reach another server connection, where a named
//! statement does not exist; there every statement goes out unnamed, typed by
//! us, with its parameters in the same round trip (`query_typed`). Declaring
//! the types here is what makes that possible — and both modes use them, so
//! the test suite, which runs both, checks them against the schema.

use futures_util::TryStreamExt;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Row, RowStream};

use crate::config::Pooler;

/// SQL text and the type of each `$n` parameter, in order.
#[derive(Debug, Clone, Copy)]
pub struct Sql {
    pub text: &'static str,
    pub types: &'static [Type],
}

impl Sql {
    pub const fn new(text: &'static str, types: &'static [Type]) -> Self {
        Self { text, types }
    }

    pub fn typed<'a>(
        &self,
        params: &[&'a (dyn ToSql + Sync)],
    ) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
        debug_assert_eq!(params.len(), self.types.len(), "{}", self.text);
        params
            .iter()
            .copied()
            .zip(self.types.iter().cloned())
            .collect()
    }
}

/// Runs `sql` on `client` and collects its rows.
pub async fn query(
    client: &deadpool_postgres::Client,
    pooler: Pooler,
    sql: &Sql,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, tokio_postgres::Error> {
    query_stream(client, pooler, sql, params)
        .await?
        .try_collect()
        .await
}

/// Runs `sql` on `client`; how many rows it touched.
pub async fn execute(
    client: &deadpool_postgres::Client,
    pooler: Pooler,
    sql: &Sql,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, tokio_postgres::Error> {
    match pooler {
        Pooler::None => {
            let stmt = client.prepare_typed_cached(sql.text, sql.types).await?;
            client.execute(&stmt, params).await
        }
        Pooler::Transaction => client.execute_typed(sql.text, &sql.typed(params)).await,
    }
}

/// Runs `sql` on `client`, rows streamed as the server sends them.
pub async fn query_stream(
    client: &deadpool_postgres::Client,
    pooler: Pooler,
    sql: &Sql,
    params: &[&(dyn ToSql + Sync)],
) -> Result<RowStream, tokio_postgres::Error> {
    match pooler {
        Pooler::None => {
            let stmt = client.prepare_typed_cached(sql.text, sql.types).await?;
            client.query_raw(&stmt, params.iter().copied()).await
        }
        Pooler::Transaction => client.query_typed_raw(sql.text, sql.typed(params)).await,
    }
}

/// A statement prepared on a long-lived client of our own (the shared read
/// clients), or just its text behind a transaction pooler.
pub enum Prepared {
    Named(tokio_postgres::Statement),
    Unnamed(Sql),
}

impl Prepared {
    pub async fn new(
        client: &tokio_postgres::Client,
        pooler: Pooler,
        sql: Sql,
    ) -> Result<Self, tokio_postgres::Error> {
        Ok(match pooler {
            Pooler::None => Prepared::Named(client.prepare_typed(sql.text, sql.types).await?),
            Pooler::Transaction => Prepared::Unnamed(sql),
        })
    }

    /// Every row.
    pub async fn query(
        &self,
        client: &tokio_postgres::Client,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        match self {
            Prepared::Named(stmt) => client.query(stmt, params).await,
            Prepared::Unnamed(sql) => client.query_typed(sql.text, &sql.typed(params)).await,
        }
    }
}

/// Every `$n` a statement's text uses is declared (checked by a unit test over
/// every statement).
#[cfg(test)]
pub fn highest_parameter(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut highest = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let digits: String = text[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse::<usize>() {
                highest = highest.max(n);
            }
        }
        i += 1;
    }
    highest
}
