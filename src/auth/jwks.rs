//! Clerk's signing keys from its JWKS endpoint, cached.
//!
//! A token with a key id we do not know triggers at most one refetch per minute
//! (so forged `kid`s cannot make us hammer Clerk), and keys already cached keep
//! working while the endpoint is down. Loading an empty (cold) cache is a
//! separate budget, retried at most every few seconds while the endpoint fails,
//! so the first load does not use up the refetch a key rotation may need.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use tokio::sync::{Mutex, RwLock};

pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    min_refetch_interval: Duration,
    keys: RwLock<HashMap<String, DecodingKey>>,
    /// Bumped each time a fetched key set replaces the cached one.
    generation: AtomicU64,
    /// Serialises fetches and remembers when each kind was last tried.
    attempts: Mutex<Attempts>,
}

#[derive(Default)]
struct Attempts {
    /// A refetch because of an unknown `kid` while keys were cached.
    refetch: Option<Instant>,
    /// A load while no key was cached yet.
    cold: Option<Instant>,
}

/// How often a cold cache may try to load.
const COLD_RETRY: Duration = Duration::from_secs(5);

impl JwksCache {
    pub fn new(url: &str, min_refetch_interval: Duration) -> Self {
        Self {
            url: url.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("a client with a timeout builds"),
            min_refetch_interval,
            keys: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
            attempts: Mutex::new(Attempts::default()),
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub async fn key(&self, kid: &str) -> Option<DecodingKey> {
        if let Some(key) = self.keys.read().await.get(kid) {
            return Some(key.clone());
        }
        let mut attempts = self.attempts.lock().await;
        // Another request may have fetched while we waited for the lock.
        let cold = {
            let keys = self.keys.read().await;
            if let Some(key) = keys.get(kid) {
                return Some(key.clone());
            }
            keys.is_empty()
        };
        let (last, interval) = if cold {
            (&mut attempts.cold, COLD_RETRY)
        } else {
            (&mut attempts.refetch, self.min_refetch_interval)
        };
        if last.is_some_and(|t| t.elapsed() < interval) {
            return None;
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(fresh) if !fresh.is_empty() => {
                tracing::info!(keys = fresh.len(), "Clerk signing keys refreshed");
                let mut keys = self.keys.write().await;
                // Only a different set of key ids is a new generation: a
                // refetch forced by a forged `kid` must not flush every
                // verified token (and make each cost an RSA check again).
                let changed =
                    keys.len() != fresh.len() || fresh.keys().any(|kid| !keys.contains_key(kid));
                *keys = fresh;
                if changed {
                    self.generation.fetch_add(1, Ordering::Release);
                }
            }
            Ok(_) => tracing::warn!("Clerk JWKS had no usable RSA keys; keeping the cached ones"),
            Err(e) => {
                tracing::warn!(error = %e, "fetching Clerk JWKS failed; keeping the cached keys")
            }
        }
        self.keys.read().await.get(kid).cloned()
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let set: JwkSet = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.without_url().to_string())?
            .json()
            .await
            .map_err(|e| e.without_url().to_string())?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect())
    }
}
