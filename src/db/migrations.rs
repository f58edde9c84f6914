//! Schema migrations from `sql/`, embedded in the binary by refinery.
//!
//! Several API replicas (and the Kubernetes migration Job) may start at once, so
//! the run is serialised with a session-level PostgreSQL advisory lock: the first
//! one applies what is missing, the others wait and then find nothing to do.
//! That lock belongs to a session, so behind a transaction pooler migrations
//! connect directly (`MIGRATION_DATABASE_URL`).

use super::DbError;
use crate::config::DatabaseSettings;

refinery::embed_migrations!("sql");

/// Arbitrary but fixed: the advisory lock key of userlib's migrations ("userlib" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x0075_7365_726c_6962;

/// Applies every pending migration; returns how many were applied.
pub async fn migrate(settings: &DatabaseSettings) -> Result<usize, DbError> {
    let settings = settings.for_migrations();
    let pg = settings.pg_config();
    let (mut client, connection) = pg.connect(super::tls_connector(settings)?).await?;
    let conn_task = tokio::spawn(connection);

    let legacy: bool = client
        .query_one(
            "SELECT to_regclass('alembic_version') IS NOT NULL \
               AND to_regclass('refinery_schema_history') IS NULL",
            &[],
        )
        .await?
        .get(0);
    if legacy {
        return Err(DbError::LegacySchema);
    }
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    let report = migrations::runner()
        .set_migration_table_name("refinery_schema_history")
        .run_async(&mut client)
        .await;
    // Closing the session releases the lock too; unlocking explicitly just frees it sooner.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .await;
    drop(client);
    let _ = conn_task.await;

    let report = report.map_err(|e| DbError::Internal(e.into()))?;
    Ok(report.applied_migrations().len())
}

/// The newest migration this binary carries: a database below it is not ready
/// for this release (`/ready` answers 503 until the migration Job has run).
pub fn latest_version() -> i64 {
    migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}
