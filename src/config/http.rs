//! `HTTP_*` and `CORS_ALLOWED_ORIGINS`: how `user-api` serves connections
//! (read by `http::server` and the CORS filter). Settings flow downwards: the
//! HTTP layer takes these types from here, `config` imports nothing above it.

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, invalid, list};

#[derive(Deserialize)]
#[serde(default)]
pub(super) struct RawHttp {
    http_header_read_timeout_ms: u64,
    http_request_timeout_ms: u64,
    http_max_connections: usize,
    cors_allowed_origins: Option<String>,
}

impl Default for RawHttp {
    fn default() -> Self {
        Self {
            // Generous for a real client on a slow network, short enough that
            // slow-header and idle connections cannot pile up.
            http_header_read_timeout_ms: 10_000,
            http_request_timeout_ms: 30_000,
            // Well below a container's usual descriptor limit, with room for the
            // pool, the shared clients and the logs.
            http_max_connections: 1000,
            cors_allowed_origins: None,
        }
    }
}

/// The connection limits (`HTTP_*` settings).
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// A request's headers must arrive within this; also the longest an idle
    /// keep-alive connection is kept.
    pub header_read_timeout: Duration,
    /// A request not answered within this gets a 503.
    pub request_timeout: Duration,
    /// Connections served at once; over it, an immediate 503.
    pub max_connections: usize,
}

/// How `user-api` serves HTTP.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub limits: HttpLimits,
    /// Browser origins allowed by CORS (the frontend's).
    pub cors_allowed_origins: Vec<String>,
}

impl HttpSettings {
    pub(super) fn check(raw: RawHttp) -> Result<Self, ConfigError> {
        for (var, value) in [
            (
                "HTTP_HEADER_READ_TIMEOUT_MS",
                raw.http_header_read_timeout_ms,
            ),
            ("HTTP_REQUEST_TIMEOUT_MS", raw.http_request_timeout_ms),
            ("HTTP_MAX_CONNECTIONS", raw.http_max_connections as u64),
        ] {
            if value == 0 {
                return Err(invalid(var, "at least 1", "0"));
            }
        }
        let cors_allowed_origins = list(raw.cors_allowed_origins.as_deref());
        for o in &cors_allowed_origins {
            origin("CORS_ALLOWED_ORIGINS", o)?;
        }
        Ok(Self {
            limits: HttpLimits {
                header_read_timeout: Duration::from_millis(raw.http_header_read_timeout_ms),
                request_timeout: Duration::from_millis(raw.http_request_timeout_ms),
                max_connections: raw.http_max_connections,
            },
            cors_allowed_origins,
        })
    }
}

/// A browser origin as browsers send it: `scheme://host[:port]`, nothing
/// else. `*` (any site could read a user's data with their cookie), `null`
/// (sandboxed frames and `file:` pages) and bare hosts are refused here, with
/// the variable named, instead of failing inside the HTTP layer.
pub(super) fn origin(var: &str, value: &str) -> Result<(), ConfigError> {
    let valid = value.split_once("://").is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https")
            && !rest.is_empty()
            && !rest.ends_with(':')
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
            && rest.matches(':').count() <= 1 + 7 * usize::from(rest.starts_with('['))
    });
    if valid {
        Ok(())
    } else {
        Err(invalid(
            var,
            "a comma-separated list of origins such as https://app.example.com \
             (scheme://host[:port], no path, no '*', no 'null')",
            value,
        ))
    }
}
