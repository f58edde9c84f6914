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

/// A value from outside (a command's `type`, a correlation id) as it may be
/// logged: control characters escaped (`\n`, `\u{1b}`) so it can neither forge
/// a line of the text format nor reach a terminal, and cut to
/// [`Untrusted::MAX_CHARS`] characters so a 900 KB field stays one short line.
/// The JSON format escapes by itself; this makes the text format as safe.
pub struct Untrusted<'a>(pub &'a str);

impl Untrusted<'_> {
    pub const MAX_CHARS: usize = 128;
}

impl std::fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(Self::MAX_CHARS) {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                for e in c.escape_default() {
                    f.write_char(e)?;
                }
            } else {
                f.write_char(c)?;
            }
        }
        if chars.next().is_some() {
            write!(f, "…({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Untrusted;

    #[test]
    fn untrusted_values_are_one_short_line() {
        assert_eq!(
            Untrusted("get_payment_info").to_string(),
            "get_payment_info"
        );
        let forged = "x\n2026-11-29T00:00:00Z  INFO forged line\u{1b}[31m";
        let shown = Untrusted(forged).to_string();
        assert!(
            !shown.contains('\n') && !shown.contains('\u{1b}'),
            "{shown}"
        );
        assert!(
            shown.contains("\\n") && shown.contains("\\u{1b}"),
            "{shown}"
        );
        let huge = "t".repeat(900_000);
        let shown = Untrusted(&huge).to_string();
        assert!(shown.len() < 200, "{}", shown.len());
        assert!(shown.ends_with("…(900000 bytes)"), "{shown}");
    }
}
