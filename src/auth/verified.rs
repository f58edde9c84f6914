//! Session tokens already verified, so a browser's next requests with the same
//! token skip the RSA signature check.
//!
//! A Clerk session token lives about a minute and the frontend sends it on
//! every request of that minute; verifying its RS256 signature each time cost
//! three quarters of the read path's throughput. An entry is keyed by the
//! SHA-256 of the exact token bytes (already computed for the service-token
//! compare), so only the very token that verified can hit; it holds what the
//! token proved and its `exp`, which is checked on every hit. Entries made
//! under an older key set (a JWKS refresh that changed the keys) never hit.
//! Failures are not cached: a flood of bad tokens cannot push good ones out.
//! Bounded (`AUTH_TOKEN_CACHE_SIZE`, S3-FIFO eviction by quick_cache).

use std::sync::Arc;

use super::SignedIn;

#[derive(Clone)]
struct Entry {
    user: Arc<SignedIn>,
    /// The token's `exp`, seconds since the epoch.
    expires_at: u64,
    /// The key-set generation it was verified under.
    generation: u64,
}

pub struct VerifiedTokens {
    cache: Option<quick_cache::sync::Cache<[u8; 32], Entry>>,
}

impl VerifiedTokens {
    /// Up to `capacity` tokens; 0 turns the cache off.
    pub fn new(capacity: usize) -> Self {
        Self {
            cache: (capacity > 0).then(|| quick_cache::sync::Cache::new(capacity)),
        }
    }

    /// What the token with this digest proved, if it verified under key-set
    /// `generation` and has not expired (`now` with the leeway already added).
    pub fn get(&self, digest: &[u8; 32], generation: u64, now: u64) -> Option<SignedIn> {
        let cache = self.cache.as_ref()?;
        let entry = cache.get(digest)?;
        if entry.generation == generation && now < entry.expires_at {
            return Some(SignedIn::clone(&entry.user));
        }
        cache.remove(digest);
        None
    }

    pub fn insert(&self, digest: [u8; 32], user: SignedIn, expires_at: u64, generation: u64) {
        if let Some(cache) = &self.cache {
            let entry = Entry {
                user: Arc::new(user),
                expires_at,
                generation,
            };
            cache.insert(digest, entry);
            metrics::gauge!(crate::metrics::AUTH_TOKEN_CACHE_ENTRIES).set(cache.len() as f64);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.cache.as_ref().map_or(0, |c| c.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ClerkUserId;

    fn user(id: &str) -> SignedIn {
        SignedIn {
            id: ClerkUserId::parse(id).unwrap(),
            email: None,
        }
    }

    #[test]
    fn hits_only_the_same_token_before_expiry_under_the_same_keys() {
        let tokens = VerifiedTokens::new(10);
        tokens.insert([1; 32], user("user_a"), 100, 7);
        assert_eq!(tokens.get(&[1; 32], 7, 99), Some(user("user_a")));
        assert_eq!(tokens.get(&[2; 32], 7, 99), None, "another token");
        assert_eq!(tokens.get(&[1; 32], 8, 99), None, "keys changed");
        assert_eq!(tokens.get(&[1; 32], 7, 99), None, "dropped on the miss");
        tokens.insert([1; 32], user("user_a"), 100, 7);
        assert_eq!(tokens.get(&[1; 32], 7, 100), None, "expired");
        assert_eq!(tokens.len(), 0);
    }

    #[test]
    fn bounded_and_can_be_turned_off() {
        let tokens = VerifiedTokens::new(100);
        for i in 0..1000u32 {
            let mut digest = [0; 32];
            digest[..4].copy_from_slice(&i.to_be_bytes());
            tokens.insert(digest, user("user_a"), u64::MAX, 0);
        }
        assert!(tokens.len() <= 110, "{}", tokens.len());
        let off = VerifiedTokens::new(0);
        off.insert([1; 32], user("user_a"), u64::MAX, 0);
        assert_eq!(off.get(&[1; 32], 0, 0), None);
    }
}
