//! Clerk's signing keys from its JWKS endpoint, cached and kept current.
//!
//! Keys rotate: Clerk publishes a new key, signs with it, and later withdraws
//! the old one. So the key set is fetched again when it goes stale — after the
//! endpoint's `Cache-Control: max-age`, kept between a floor (a short max-age
//! must not turn into a fetch per request) and a ceiling (a withdrawn key is
//! trusted for at most that long) — in the background, while requests go on
//! with the keys they have. A refresh that changes the set of key ids is a new
//! generation, and tokens remembered under an older one are verified again.
//!
//! A token with a key id we do not know triggers at most one extra refetch per
//! `min_refetch_interval` (so forged `kid`s cannot make us hammer Clerk), and
//! keys already cached keep working while the endpoint is down. Loading an
//! empty (cold) cache is a separate budget, retried at most every few seconds
//! while the endpoint fails, so the first load does not use up the refetch a
//! key rotation may need.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use tokio::sync::{Mutex, RwLock};

/// How long a key set is kept, whatever the endpoint says.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// The shortest (a `max-age=0` endpoint is not fetched per request).
    pub floor: Duration,
    /// The longest: a withdrawn key is trusted at most this long.
    pub ceiling: Duration,
    /// When the endpoint sends no `max-age`.
    pub default: Duration,
}

#[derive(Clone)]
pub struct JwksCache {
    shared: Arc<Shared>,
}

struct Shared {
    url: String,
    http: reqwest::Client,
    min_refetch_interval: Duration,
    freshness: Freshness,
    keys: RwLock<HashMap<String, DecodingKey>>,
    /// Bumped each time a fetched key set replaces the cached one.
    generation: AtomicU64,
    /// When the key set is due to be fetched again, in milliseconds since
    /// `born`; `u64::MAX` before the first load.
    due_ms: AtomicU64,
    born: Instant,
    /// A background refresh is running.
    refreshing: AtomicBool,
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
    pub fn new(url: &str, min_refetch_interval: Duration, freshness: Freshness) -> Self {
        Self {
            shared: Arc::new(Shared {
                url: url.to_owned(),
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .expect("a client with a timeout builds"),
                min_refetch_interval,
                freshness,
                keys: RwLock::new(HashMap::new()),
                generation: AtomicU64::new(0),
                due_ms: AtomicU64::new(u64::MAX),
                born: Instant::now(),
                refreshing: AtomicBool::new(false),
                attempts: Mutex::new(Attempts::default()),
            }),
        }
    }

    pub fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::Acquire)
    }

    /// Starts a background refresh when the key set is stale. Cheap enough for
    /// every request (an atomic load), so remembered tokens also stop working
    /// soon after their key is withdrawn, even when none needs a verify.
    pub fn refresh_if_stale(&self) {
        let shared = &self.shared;
        if shared.now_ms() < shared.due_ms.load(Ordering::Relaxed)
            || shared.refreshing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let _attempts = shared.attempts.lock().await;
            shared.fetch_and_store().await;
            shared.refreshing.store(false, Ordering::Release);
        });
    }

    pub async fn key(&self, kid: &str) -> Option<DecodingKey> {
        let shared = &self.shared;
        if let Some(key) = shared.keys.read().await.get(kid) {
            return Some(key.clone());
        }
        let mut attempts = shared.attempts.lock().await;
        // Another request may have fetched while we waited for the lock.
        let cold = {
            let keys = shared.keys.read().await;
            if let Some(key) = keys.get(kid) {
                return Some(key.clone());
            }
            keys.is_empty()
        };
        let (last, interval) = if cold {
            (&mut attempts.cold, COLD_RETRY)
        } else {
            (&mut attempts.refetch, shared.min_refetch_interval)
        };
        if last.is_some_and(|t| t.elapsed() < interval) {
            return None;
        }
        *last = Some(Instant::now());
        shared.fetch_and_store().await;
        shared.keys.read().await.get(kid).cloned()
    }
}

impl Shared {
    fn now_ms(&self) -> u64 {
        self.born.elapsed().as_millis() as u64
    }

    fn due_in(&self, after: Duration) {
        let due = self.now_ms().saturating_add(after.as_millis() as u64);
        self.due_ms.store(due, Ordering::Relaxed);
    }

    /// Fetches the key set and makes it the cached one. On failure the cached
    /// keys stay, and the next try is a floor away.
    async fn fetch_and_store(&self) {
        match self.fetch().await {
            Ok((fresh, _)) if fresh.is_empty() => {
                tracing::warn!("Clerk JWKS had no usable RSA keys; keeping the cached ones");
                self.due_in(self.freshness.floor);
            }
            Ok((fresh, max_age)) => {
                let mut keys = self.keys.write().await;
                // Only a different set of key ids is a new generation: a
                // refetch forced by a forged `kid`, or a routine refresh, must
                // not flush every verified token (and make each cost an RSA
                // check again).
                let changed =
                    keys.len() != fresh.len() || fresh.keys().any(|kid| !keys.contains_key(kid));
                if changed {
                    let withdrawn = keys.keys().filter(|kid| !fresh.contains_key(*kid)).count();
                    tracing::info!(keys = fresh.len(), withdrawn, "Clerk signing keys changed");
                }
                *keys = fresh;
                if changed {
                    self.generation.fetch_add(1, Ordering::Release);
                }
                let keep = max_age
                    .unwrap_or(self.freshness.default)
                    .clamp(self.freshness.floor, self.freshness.ceiling);
                self.due_in(keep);
            }
            Err(e) => {
                tracing::warn!(error = %e, "fetching Clerk JWKS failed; keeping the cached keys");
                if !self.keys.read().await.is_empty() {
                    self.due_in(self.freshness.floor);
                }
            }
        }
    }

    async fn fetch(&self) -> Result<(HashMap<String, DecodingKey>, Option<Duration>), String> {
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.without_url().to_string())?;
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let keys = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect();
        Ok((keys, max_age))
    }
}

/// `max-age` of a `Cache-Control` value (`no-store`/`no-cache` count as 0).
fn max_age(value: &str) -> Option<Duration> {
    value.split(',').map(str::trim).find_map(|directive| {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        lower
            .strip_prefix("max-age=")
            .and_then(|s| s.trim_matches('"').parse::<u64>().ok())
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::max_age;
    use std::time::Duration;

    #[test]
    fn cache_control_max_age() {
        assert_eq!(
            max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(max_age("Max-Age=\"5\""), Some(Duration::from_secs(5)));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }
}
