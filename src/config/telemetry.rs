//! `LOG_FORMAT`: how both binaries write their logs (`telemetry.rs` applies it).

use serde::Deserialize;

use super::{ConfigError, invalid};

/// How logs are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Deserialize)]
pub(super) struct RawTelemetry {
    log_format: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    pub log_format: LogFormat,
}

impl TelemetrySettings {
    pub(super) fn check(raw: RawTelemetry) -> Result<Self, ConfigError> {
        let given = raw.log_format.unwrap_or_default();
        let log_format = match given.to_ascii_lowercase().as_str() {
            "" | "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(invalid("LOG_FORMAT", "'text' or 'json'", &given)),
        };
        Ok(Self { log_format })
    }
}
