//! Logging set-up shared by both binaries: `tracing` events to stdout, as text for
//! people or as one JSON object per line for log collectors (`LOG_FORMAT`).
//!
//! Writes go through a non-blocking writer so that a slow stdout (a busy log
//! collector, a full pipe) never stalls request handling on the async runtime.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, TelemetrySettings};

/// `RUST_LOG` when set; otherwise info for everything but warp's own per-request
/// events, which the HTTP layer replaces with one access line per request.
const DEFAULT_FILTER: &str = "info,warp::filters::trace=off,warp::server=warn";

/// Installs the global subscriber. Keep the guard alive until exit: dropping it
/// flushes the log lines still queued.
pub fn init(settings: &TelemetrySettings) -> WorkerGuard {
    let mut filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // At debug, tokio-postgres logs every statement's parameters: emails, phone
    // numbers, Stripe ids. Personal data stays out of the logs at any level
    // unless RUST_LOG names tokio_postgres itself (a deliberate local choice).
    if !std::env::var("RUST_LOG").is_ok_and(|v| v.contains("tokio_postgres")) {
        filter = filter.add_directive("tokio_postgres=info".parse().expect("a valid directive"));
    }
    let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(true)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    match settings.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => builder.init(),
    }
    guard
}
