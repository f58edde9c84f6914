//! The deadpool-postgres pool both binaries share.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

use postgres_openssl::MakeTlsConnector;

use crate::config::DatabaseSettings;

/// Builds the pool without connecting: connections are opened on first use, so a
/// service can start (and report "not ready") while PostgreSQL is still down.
pub(super) fn build_pool(settings: &DatabaseSettings, tls: MakeTlsConnector) -> Pool {
    let pg = settings.pg_config();
    // Fast recycling only checks that the connection task is alive: a broken
    // connection (server restart, cut network) ends that task, so it is replaced
    // on the next checkout without a test query on every request.
    let manager = Manager::from_config(
        pg,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(settings.pool_size)
        .wait_timeout(Some(settings.timeout))
        .create_timeout(Some(settings.connect_timeout))
        .recycle_timeout(Some(Duration::from_secs(1)))
        .runtime(Runtime::Tokio1)
        .build()
        .expect("a pool with a runtime and timeouts always builds")
}
