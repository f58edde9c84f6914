//! Wiring `user-api`: bind, build the layers (pool, repository, payments,
//! service, authenticator), serve until a shutdown signal, drain. Shared by
//! the binary and the integration tests, which run the very same app
//! in-process on a random port.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::StartupError;
use crate::auth::Authenticator;
use crate::config::ApiConfig;
use crate::db::{self, Repository};
use crate::http::WebhookSecrets;
use crate::payments::{self, PaymentsGateway};
use crate::service::UserService;

/// A bound, ready-to-run API.
pub struct Api {
    listener: TcpListener,
    service: Arc<UserService>,
    authenticator: Authenticator,
    webhooks: WebhookSecrets,
    cors_origins: Vec<String>,
    shutdown_timeout: Duration,
    limits: crate::config::HttpLimits,
    /// The internal listener for `/metrics` and probes (`METRICS_ADDR`).
    internal: Option<TcpListener>,
}

impl Api {
    /// Migrates (when configured to), builds the pool and binds the listener.
    /// The payments gateway comes from the configuration.
    pub async fn build(config: &ApiConfig) -> Result<Self, StartupError> {
        Self::build_with(config, payments::from_settings(&config.payments)?).await
    }

    /// Like [`Api::build`], with the payments gateway given (tests use this).
    pub async fn build_with(
        config: &ApiConfig,
        payments: Arc<dyn PaymentsGateway>,
    ) -> Result<Self, StartupError> {
        if config.migrate_on_start {
            let applied = db::migrate(&config.database).await?;
            tracing::info!(applied, "database migrated");
        }
        // Install the metrics recorder before anything records.
        crate::metrics::handle();
        let authenticator = Authenticator::new(&config.auth)?;
        let repo = Repository::connect(&config.database).map_err(StartupError::Database)?;
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: config.listen_addr,
                source,
            })?;
        let internal = match config.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartupError::Bind { addr, source })?,
            ),
            None => None,
        };
        Ok(Self {
            listener,
            service: Arc::new(UserService::new(repo, payments)),
            authenticator,
            webhooks: WebhookSecrets {
                clerk: config.webhooks.clerk_secret.clone(),
                stripe: config.webhooks.stripe_secret.clone(),
            },
            cors_origins: config.http.cors_allowed_origins.clone(),
            shutdown_timeout: config.shutdown_timeout,
            limits: config.http.limits,
            internal,
        })
    }

    /// Where `/metrics` and the probes are served apart, if they are.
    pub fn internal_addr(&self) -> Option<SocketAddr> {
        self.internal
            .as_ref()
            .map(|l| l.local_addr().expect("a bound listener has an address"))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight
    /// requests finish for at most the configured drain time. Returns `false` if
    /// the drain was cut short.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> bool {
        let metrics_on = if self.internal.is_some() {
            crate::http::MetricsOn::InternalListener
        } else {
            crate::http::MetricsOn::ApiPort
        };
        let stop = tokio_util::sync::CancellationToken::new();
        let internal = self.internal.map(|listener| {
            let probes = Arc::new(crate::http::ApiProbes(self.service.clone()));
            let stop = stop.clone();
            tokio::spawn(crate::http::ops::serve(
                listener,
                probes,
                self.limits,
                stop.cancelled_owned(),
                self.shutdown_timeout,
            ))
        });
        let app = crate::http::app(
            self.service,
            self.authenticator,
            self.webhooks,
            &self.cors_origins,
            metrics_on,
        );
        let drained = crate::http::server::serve(
            self.listener,
            app,
            self.limits,
            shutdown,
            self.shutdown_timeout,
        )
        .await;
        stop.cancel();
        if let Some(internal) = internal {
            let _ = internal.await;
        }
        drained
    }
}
