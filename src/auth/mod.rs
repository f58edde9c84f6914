//! Who is calling, and what they may do.
//!
//! The frontend sends the Clerk session token it already holds (a RS256 JWT, as
//! `Authorization: Bearer …` or the `__session` cookie); backend callers send a
//! service token. [`Authenticator`] turns either into a [`Caller`];
//! [`Caller::may`] applies the access table of docs/security.md. Failures say no more
//! than "invalid token" to the client; the reason is logged at debug level.

mod jwks;
mod rs256;
mod verified;

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{AuthSettings, ClerkKeys, ClerkSettings, ExposeSecret};
use crate::domain::{ClerkUserId, Email};

pub use rs256::install as install_rs256;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A signed-in user (the token's `sub`).
    User(SignedIn),
    /// A backend service (service token), or anyone when `AUTH_MODE=none`.
    Service,
}

/// A signed-in user, as their Clerk session token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub id: ClerkUserId,
    /// The email Clerk verified, from the claim `CLERK_EMAIL_CLAIM` names, when
    /// the session token carries it.
    pub email: Option<Email>,
}

/// What a route needs.
#[derive(Debug, Clone, Copy)]
pub enum Access<'a> {
    /// The user themself, or a service.
    SelfOrService(&'a ClerkUserId),
    /// Services only (payout destinations, ratings, listing, temp users).
    ServiceOnly,
}

impl Caller {
    pub fn may(&self, access: Access<'_>) -> bool {
        match (self, access) {
            (Caller::Service, _) => true,
            (Caller::User(me), Access::SelfOrService(id)) => me.id == *id,
            (Caller::User(_), Access::ServiceOnly) => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing credentials")]
    Missing,
    #[error("invalid token")]
    Invalid,
}

/// Why the authenticator cannot be built from its settings.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("CLERK_JWT_KEY is not an RSA PEM key: {0}")]
    PemKey(#[source] jsonwebtoken::errors::Error),
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    /// Required: without it a token's lifetime cannot be bounded.
    iat: u64,
    azp: Option<String>,
    /// Every other claim; the email one is looked up by its configured name.
    #[serde(flatten)]
    other: std::collections::HashMap<String, serde_json::Value>,
}

/// Verifies credentials. Cheap to share (`Arc` inside).
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    clerk: Option<Clerk>,
    /// SHA-256 of each service token: equal lengths for a constant-time compare.
    service_tokens: Vec<[u8; 32]>,
}

struct Clerk {
    keys: Keys,
    verified: verified::VerifiedTokens,
    validation: Validation,
    authorized_parties: Vec<String>,
    /// The longest `exp − iat`, in seconds.
    max_lifetime: u64,
    email_claim: String,
}

enum Keys {
    Static(DecodingKey),
    Jwks(jwks::JwksCache),
}

impl Keys {
    /// Changes whenever the key set does (verified tokens of an older one are
    /// not trusted from the cache).
    fn generation(&self) -> u64 {
        match self {
            Keys::Static(_) => 0,
            Keys::Jwks(cache) => cache.generation(),
        }
    }
}

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 5;

/// A token with an unknown key id refetches the key set at most this often.
const UNKNOWN_KID_REFETCH: Duration = Duration::from_secs(10);
/// The key set's lifetime when the endpoint sends no `max-age`, and the most
/// it is kept whatever it sends: how long a withdrawn key may still verify.
const JWKS_DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
const JWKS_MAX_AGE_CEILING: Duration = Duration::from_secs(600);

impl Authenticator {
    pub fn new(settings: &AuthSettings) -> Result<Self, AuthSetupError> {
        let clerk = settings.clerk.as_ref().map(Clerk::new).transpose()?;
        if clerk.is_none() {
            tracing::warn!(
                "AUTH_MODE=none: every request is trusted as a service. Never run like this in production"
            );
        }
        Ok(Self {
            inner: Arc::new(Inner {
                clerk,
                service_tokens: settings
                    .service_tokens
                    .iter()
                    .map(|t| digest(t.expose_secret()))
                    .collect(),
            }),
        })
    }

    /// Authenticates a bearer token (from the header or the `__session` cookie).
    pub async fn authenticate(&self, token: Option<&str>) -> Result<Caller, AuthError> {
        let Some(clerk) = &self.inner.clerk else {
            return Ok(Caller::Service);
        };
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        let presented = digest(token);
        // Compare against every token so the time taken does not say which matched.
        let is_service = self
            .inner
            .service_tokens
            .iter()
            .fold(subtle::Choice::from(0), |any, t| any | t.ct_eq(&presented));
        if bool::from(is_service) {
            return Ok(Caller::Service);
        }
        if let Keys::Jwks(cache) = &clerk.keys {
            cache.refresh_if_stale();
        }
        let generation = clerk.keys.generation();
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(user) = clerk.verified.get(&presented, generation, now) {
            metrics::counter!(crate::metrics::AUTH_TOKENS, "result" => "remembered").increment(1);
            return Ok(Caller::User(user));
        }
        match clerk.verify(token).await {
            Ok((user, exp)) => {
                metrics::counter!(crate::metrics::AUTH_TOKENS, "result" => "verified").increment(1);
                // Valid until `exp` plus the leeway `decode` allowed it.
                let until = exp.saturating_add(LEEWAY_SECS);
                clerk
                    .verified
                    .insert(presented, user.clone(), until, generation);
                Ok(Caller::User(user))
            }
            Err(reason) => {
                metrics::counter!(crate::metrics::AUTH_TOKENS, "result" => "rejected").increment(1);
                tracing::debug!(reason, "token rejected");
                Err(AuthError::Invalid)
            }
        }
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Clerk {
    fn new(settings: &ClerkSettings) -> Result<Self, AuthSetupError> {
        if !rs256::install() {
            tracing::warn!(
                "another jsonwebtoken provider was installed first: RS256 keys are parsed on every check"
            );
        }
        let keys = match &settings.keys {
            ClerkKeys::Pem(pem) => Keys::Static(
                DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(AuthSetupError::PemKey)?,
            ),
            ClerkKeys::Jwks(url) => Keys::Jwks(jwks::JwksCache::new(
                url,
                UNKNOWN_KID_REFETCH,
                jwks::Freshness {
                    floor: settings.jwks_min_refresh,
                    ceiling: JWKS_MAX_AGE_CEILING.max(settings.jwks_min_refresh),
                    default: JWKS_DEFAULT_MAX_AGE.max(settings.jwks_min_refresh),
                },
            )),
        };
        // Only RS256: `alg: none`, HS256 (with the public key as secret) and any
        // other algorithm are refused before a key is even looked up.
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[settings.issuer.as_str()]);
        match &settings.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
            }
            None => {
                validation.validate_aud = false;
                validation.set_required_spec_claims(&["exp", "iss", "sub"]);
            }
        }
        Ok(Self {
            keys,
            verified: verified::VerifiedTokens::new(settings.token_cache_size),
            validation,
            authorized_parties: settings.authorized_parties.clone(),
            max_lifetime: settings.max_token_lifetime.as_secs(),
            email_claim: settings.email_claim.clone(),
        })
    }

    /// The user a token proves, and its `exp`.
    async fn verify(&self, token: &str) -> Result<(SignedIn, u64), &'static str> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "malformed")?;
        if header.alg != Algorithm::RS256 {
            return Err("algorithm is not RS256");
        }
        // RFC 7515 §4.1.11: an extension we must understand, and we know none
        // (Clerk sets none).
        if header.crit.is_some() {
            return Err("crit header");
        }
        let key = match &self.keys {
            Keys::Static(key) => key.clone(),
            Keys::Jwks(cache) => cache
                .key(header.kid.as_deref().ok_or("no kid")?)
                .await
                .ok_or("unknown kid")?,
        };
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation)
            .map_err(|_| "failed validation")?;
        // Clerk's documented check: the origin the token was minted for.
        if !data
            .claims
            .azp
            .as_ref()
            .is_some_and(|azp| self.authorized_parties.contains(azp))
        {
            return Err("azp not authorized");
        }
        if data.claims.exp.saturating_sub(data.claims.iat) > self.max_lifetime {
            return Err("lifetime longer than CLERK_MAX_TOKEN_LIFETIME_SECS");
        }
        let id = ClerkUserId::parse(data.claims.sub).map_err(|_| "sub is not a user id")?;
        let email = data
            .claims
            .other
            .get(&self.email_claim)
            .and_then(|v| v.as_str())
            .and_then(|e| Email::parse(e).ok());
        Ok((SignedIn { id, email }, data.claims.exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_table() {
        let me = ClerkUserId::parse("user_me").unwrap();
        let other = ClerkUserId::parse("user_other").unwrap();
        let user = Caller::User(SignedIn {
            id: me.clone(),
            email: None,
        });
        assert!(user.may(Access::SelfOrService(&me)));
        assert!(!user.may(Access::SelfOrService(&other)));
        assert!(!user.may(Access::ServiceOnly));
        assert!(Caller::Service.may(Access::ServiceOnly));
        assert!(Caller::Service.may(Access::SelfOrService(&other)));
    }
}
