//! Reading the Flask service's database: one read-only snapshot, the
//! collisions over all of it, then every row in key order through a portal.

use std::collections::HashMap;

use tokio_postgres::{Client, IsolationLevel, Portal, Row, Transaction};

use crate::config::DatabaseSettings;

use super::ImportError;
use super::clean::{Collision, LegacyRow};

/// For each row that loses a case-insensitive collision, the collision and the
/// id of the row that keeps the value: the most recently updated one (then the
/// greatest id, so the choice is stable).
const COLLISIONS: &str = "SELECT clerk_user_id, kind, winner FROM ( \
       SELECT clerk_user_id, 'email' AS kind, \
         first_value(clerk_user_id) OVER w AS winner, row_number() OVER w AS n \
       FROM users WINDOW w AS (PARTITION BY lower(btrim(email)) ORDER BY updated_at DESC, clerk_user_id DESC) \
       UNION ALL \
       SELECT clerk_user_id, 'username', \
         first_value(clerk_user_id) OVER w, row_number() OVER w \
       FROM users WHERE btrim(username) <> '' \
       WINDOW w AS (PARTITION BY lower(btrim(username)) ORDER BY updated_at DESC, clerk_user_id DESC) \
     ) c WHERE n > 1";

/// Numeric ratings and the card as text: `NaN`, `Infinity` and malformed JSON
/// must reach the rules, not fail the read.
const ROWS: &str = "SELECT clerk_user_id, username, email, first_name, last_name, phone_number, \
       user_stripe_card::text, customer_rating::text, runner_rating::text, stripe_customer_id, \
       stripe_connect_account_id, created_at, updated_at \
     FROM users ORDER BY clerk_user_id";

/// A connection to the legacy database.
pub struct LegacyDb {
    client: Client,
    connection: tokio::task::JoinHandle<()>,
}

impl LegacyDb {
    /// `url` as libpq reads it, `sslmode`/`sslrootcert` included.
    pub async fn connect(url: &str) -> Result<Self, ImportError> {
        let settings = DatabaseSettings::new(url).map_err(ImportError::LegacyUrl)?;
        let tls = crate::db::tls_connector(&settings).map_err(ImportError::Target)?;
        let (client, connection) = settings
            .pg_config()
            .connect(tls)
            .await
            .map_err(ImportError::Legacy)?;
        let connection = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "legacy database connection ended");
            }
        });
        Ok(Self { client, connection })
    }

    /// Opens the read-only snapshot every later read sees.
    pub async fn snapshot(&mut self) -> Result<Snapshot<'_>, ImportError> {
        let tx = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(ImportError::Legacy)?;
        Ok(Snapshot { tx })
    }

    pub async fn close(self) {
        drop(self.client);
        let _ = self.connection.await;
    }
}

/// One consistent, read-only view of the legacy database; rolled back when
/// dropped (it wrote nothing).
pub struct Snapshot<'a> {
    tx: Transaction<'a>,
}

impl Snapshot<'_> {
    pub async fn collisions(
        &self,
    ) -> Result<HashMap<String, Vec<(Collision, String)>>, ImportError> {
        let rows = self
            .tx
            .query(COLLISIONS, &[])
            .await
            .map_err(ImportError::Legacy)?;
        let mut lost: HashMap<String, Vec<(Collision, String)>> = HashMap::new();
        for r in rows {
            let kind = match r.get::<_, &str>(1) {
                "email" => Collision::Email,
                _ => Collision::Username,
            };
            lost.entry(r.get(0)).or_default().push((kind, r.get(2)));
        }
        Ok(lost)
    }

    /// Every row in key order, `chunk` rows per round trip.
    pub async fn rows(&self, chunk: usize) -> Result<Rows<'_>, ImportError> {
        let portal = self.tx.bind(ROWS, &[]).await.map_err(ImportError::Legacy)?;
        Ok(Rows {
            tx: &self.tx,
            portal,
            chunk: chunk as i32,
            done: false,
        })
    }
}

pub struct Rows<'a> {
    tx: &'a Transaction<'a>,
    portal: Portal,
    chunk: i32,
    done: bool,
}

impl Rows<'_> {
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<LegacyRow>>, ImportError> {
        if self.done {
            return Ok(None);
        }
        let rows = self
            .tx
            .query_portal(&self.portal, self.chunk)
            .await
            .map_err(ImportError::Legacy)?;
        if rows.len() < self.chunk as usize {
            self.done = true;
        }
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(rows.iter().map(legacy_row).collect()))
    }
}

fn legacy_row(r: &Row) -> LegacyRow {
    LegacyRow {
        clerk_user_id: r.get(0),
        username: r.get(1),
        email: r.get(2),
        first_name: r.get(3),
        last_name: r.get(4),
        phone_number: r.get(5),
        user_stripe_card: r.get(6),
        customer_rating: r.get(7),
        runner_rating: r.get(8),
        stripe_customer_id: r.get(9),
        stripe_connect_account_id: r.get(10),
        created_at: r.get(11),
        updated_at: r.get(12),
    }
}
