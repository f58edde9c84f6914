//! `STRIPE_*`: the payments provider, read by `user-api` (`payments::from_settings`).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{ConfigError, invalid, refuse_placeholder};

#[derive(Deserialize)]
#[serde(default)]
pub(super) struct RawPayments {
    stripe_secret_key: Option<SecretString>,
    stripe_api_base: String,
    stripe_connect_country: String,
    stripe_timeout_ms: u64,
    stripe_max_retries: u32,
}

impl Default for RawPayments {
    fn default() -> Self {
        Self {
            stripe_secret_key: None,
            stripe_api_base: "https://api.stripe.com".into(),
            stripe_connect_country: "SG".into(),
            stripe_timeout_ms: 10_000,
            stripe_max_retries: 2,
        }
    }
}

/// Stripe settings. Without a secret key, payments are "not configured".
#[derive(Debug, Clone)]
pub struct PaymentsSettings {
    pub stripe_secret_key: Option<SecretString>,
    /// Base URL of Stripe's API (a test double in tests).
    pub api_base: String,
    /// Country of new Express Connect accounts (two-letter code).
    pub connect_country: String,
    /// Deadline of one HTTP attempt.
    pub timeout: Duration,
    /// Retries after the first attempt, for 429, 5xx and network failures.
    pub max_retries: u32,
}

impl Default for PaymentsSettings {
    fn default() -> Self {
        Self::check(RawPayments::default()).expect("the defaults are valid")
    }
}

impl PaymentsSettings {
    /// Stripe at `api_base` with `key`, defaults otherwise (tests use this).
    pub fn stripe(key: &str, api_base: &str) -> Self {
        Self {
            stripe_secret_key: Some(key.into()),
            api_base: api_base.into(),
            ..Self::default()
        }
    }

    pub(super) fn check(raw: RawPayments) -> Result<Self, ConfigError> {
        let stripe_secret_key = raw
            .stripe_secret_key
            .filter(|k| !k.expose_secret().trim().is_empty());
        if let Some(key) = &stripe_secret_key {
            refuse_placeholder("STRIPE_SECRET_KEY", key)?;
        }
        if !(raw.stripe_api_base.starts_with("https://")
            || raw.stripe_api_base.starts_with("http://"))
        {
            return Err(invalid(
                "STRIPE_API_BASE",
                "an http(s) URL",
                &raw.stripe_api_base,
            ));
        }
        let country = raw.stripe_connect_country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid(
                "STRIPE_CONNECT_COUNTRY",
                "a two-letter country code such as SG",
                &raw.stripe_connect_country,
            ));
        }
        if raw.stripe_timeout_ms == 0 {
            return Err(invalid("STRIPE_TIMEOUT_MS", "at least 1", "0"));
        }
        if raw.stripe_max_retries > 10 {
            return Err(invalid(
                "STRIPE_MAX_RETRIES",
                "from 0 to 10",
                &raw.stripe_max_retries.to_string(),
            ));
        }
        Ok(Self {
            stripe_secret_key,
            api_base: raw.stripe_api_base,
            connect_country: country,
            timeout: Duration::from_millis(raw.stripe_timeout_ms),
            max_retries: raw.stripe_max_retries,
        })
    }
}
