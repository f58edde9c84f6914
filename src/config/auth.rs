//! `AUTH_MODE`, `CLERK_*` and `SERVICE_TOKENS`: who may call `user-api`
//! (read by `auth`).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::http::origin;
use super::{ConfigError, invalid, list, refuse_placeholder};

#[derive(Deserialize)]
pub(super) struct RawAuth {
    auth_mode: Option<String>,
    clerk_jwks_url: Option<String>,
    clerk_jwt_key: Option<String>,
    clerk_issuer: Option<String>,
    clerk_authorized_parties: Option<String>,
    clerk_audience: Option<String>,
    clerk_max_token_lifetime_secs: Option<u64>,
    clerk_jwks_min_refresh_secs: Option<u64>,
    clerk_email_claim: Option<String>,
    service_tokens: Option<SecretString>,
    auth_token_cache_size: Option<usize>,
}

/// Where Clerk's public keys come from.
#[derive(Debug, Clone)]
pub enum ClerkKeys {
    /// A JWKS endpoint (keys cached, refetched for unknown key ids).
    Jwks(String),
    /// One PEM public key (Clerk's "JWT public key").
    Pem(String),
}

/// Clerk session-token verification.
#[derive(Debug, Clone)]
pub struct ClerkSettings {
    pub keys: ClerkKeys,
    pub issuer: String,
    /// A token's `azp` must be one of these origins (never empty: a token
    /// minted for another application's origin is refused).
    pub authorized_parties: Vec<String>,
    /// When set, a token's `aud` must contain it (`CLERK_AUDIENCE`).
    pub audience: Option<String>,
    /// The longest `exp − iat` accepted (`CLERK_MAX_TOKEN_LIFETIME_SECS`):
    /// Clerk's session tokens live 60 s, so a long-lived token is not one.
    pub max_token_lifetime: Duration,
    /// The shortest time a fetched key set is kept before it is fetched
    /// again, whatever its `Cache-Control` says (`CLERK_JWKS_MIN_REFRESH_SECS`).
    pub jwks_min_refresh: Duration,
    /// The session-token claim holding the user's verified email.
    pub email_claim: String,
    /// Verified session tokens remembered until they expire
    /// (`AUTH_TOKEN_CACHE_SIZE`; 0 verifies every request).
    pub token_cache_size: usize,
}

/// Who may call the API (the signed webhooks' secrets are `config::webhooks`').
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// `None` is `AUTH_MODE=none`: every caller is trusted (development only).
    pub clerk: Option<ClerkSettings>,
    /// Bearer tokens of backend callers (saga orchestrators).
    pub service_tokens: Vec<SecretString>,
}

impl AuthSettings {
    pub(super) fn check(raw: RawAuth) -> Result<Self, ConfigError> {
        let mode = raw
            .auth_mode
            .as_deref()
            .unwrap_or("clerk")
            .trim()
            .to_ascii_lowercase();
        let clerk = match mode.as_str() {
            "none" => None,
            "clerk" => {
                let keys = match (
                    raw.clerk_jwks_url.filter(|v| !v.trim().is_empty()),
                    raw.clerk_jwt_key,
                ) {
                    (Some(url), _) => ClerkKeys::Jwks(url),
                    (None, Some(pem)) if !pem.trim().is_empty() => {
                        ClerkKeys::Pem(pem.replace("\\n", "\n"))
                    }
                    _ => {
                        return Err(ConfigError::new(
                            "CLERK_JWKS_URL (or CLERK_JWT_KEY) must be set when AUTH_MODE=clerk",
                        ));
                    }
                };
                let issuer = raw
                    .clerk_issuer
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| {
                        ConfigError::new("CLERK_ISSUER must be set when AUTH_MODE=clerk")
                    })?;
                let authorized_parties = list(raw.clerk_authorized_parties.as_deref());
                if authorized_parties.is_empty() {
                    return Err(ConfigError::new(
                        "CLERK_AUTHORIZED_PARTIES must be set when AUTH_MODE=clerk: the frontend's \
                         origin(s), comma-separated, as Clerk puts them in a token's azp \
                         (e.g. https://app.example.com)",
                    ));
                }
                for party in &authorized_parties {
                    origin("CLERK_AUTHORIZED_PARTIES", party)?;
                }
                let max_lifetime = raw.clerk_max_token_lifetime_secs.unwrap_or(3600);
                if max_lifetime == 0 {
                    return Err(invalid("CLERK_MAX_TOKEN_LIFETIME_SECS", "at least 1", "0"));
                }
                Some(ClerkSettings {
                    keys,
                    issuer,
                    authorized_parties,
                    audience: raw
                        .clerk_audience
                        .map(|a| a.trim().to_owned())
                        .filter(|a| !a.is_empty()),
                    max_token_lifetime: Duration::from_secs(max_lifetime),
                    jwks_min_refresh: Duration::from_secs(
                        raw.clerk_jwks_min_refresh_secs.unwrap_or(30).max(1),
                    ),
                    email_claim: raw
                        .clerk_email_claim
                        .filter(|c| !c.trim().is_empty())
                        .unwrap_or_else(|| "email".into()),
                    // A live Clerk session token for each of 100k active
                    // users at about 250 bytes each (bench/read_path.sh).
                    token_cache_size: raw.auth_token_cache_size.unwrap_or(100_000),
                })
            }
            other => return Err(invalid("AUTH_MODE", "'clerk' or 'none'", other)),
        };
        let service_tokens = list(raw.service_tokens.as_ref().map(|t| t.expose_secret()))
            .into_iter()
            .map(SecretString::from)
            .collect::<Vec<_>>();
        for token in &service_tokens {
            refuse_placeholder("SERVICE_TOKENS", token)?;
            if !looks_random(token.expose_secret()) {
                return Err(ConfigError::new(
                    "SERVICE_TOKENS must each be at least 32 characters of random text \
                     (e.g. `openssl rand -hex 24`)",
                ));
            }
        }
        Ok(Self {
            clerk,
            service_tokens,
        })
    }
}

/// Long enough, and varied enough, to be a generated secret rather than a word
/// or a repeated character (hex from `openssl rand -hex 16` has about 15 distinct
/// characters in 32).
fn looks_random(token: &str) -> bool {
    let distinct: std::collections::HashSet<char> = token.chars().collect();
    token.chars().count() >= 32 && distinct.len() >= 10
}
