//! Svix webhook signatures (Clerk's webhooks), as Svix documents them: the signed
//! content is `{svix-id}.{svix-timestamp}.{body}`, the key is the base64 part of
//! the `whsec_…` secret, the signature is base64(HMAC-SHA256), and
//! `svix-signature` lists one or more `v1,<signature>` separated by spaces.
//!
//! Written here rather than taken from the `svix` crate, whose 2.9 release does
//! not build without its HTTP-client TLS features; tests check it against
//! signatures computed independently with Python's `hmac`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{TOLERANCE_SECS, WebhookError};

/// Verifies one delivery. `now` is the current Unix time in seconds.
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| WebhookError::BadSignature)?;
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| WebhookError::MissingHeaders)?;
    // abs_diff: a timestamp of i64::MIN must be "stale", not an overflow.
    if now.abs_diff(ts) > TOLERANCE_SECS.unsigned_abs() {
        return Err(WebhookError::StaleTimestamp);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| WebhookError::BadSignature)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.trim().as_bytes());
    mac.update(b".");
    mac.update(body);
    // `verify_slice` compares in constant time; any listed v1 signature may match
    // (Svix lists several while a secret is being rotated).
    let matched = signatures
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|sig| mac.clone().verify_slice(&sig).is_ok());
    if matched {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed independently with Python:
    //   key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    //   msg = b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330." + body
    //   base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest())
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: &str = "1614265330";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn accepts_a_signature_computed_by_python_hmac() {
        let header = format!("v1,bm90IGl0 v1,{SIG}");
        assert_eq!(
            verify(SECRET, ID, TS, &header, BODY, 1614265330 + 10),
            Ok(())
        );
    }

    #[test]
    fn rejects_tampering_wrong_secret_and_stale_timestamps() {
        let header = format!("v1,{SIG}");
        let now = 1614265330;
        assert_eq!(
            verify(SECRET, ID, TS, &header, br#"{"test": 1}"#, now),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(SECRET, "msg_other", TS, &header, BODY, now),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify("whsec_b3RoZXJzZWNyZXQ=", ID, TS, &header, BODY, now),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(SECRET, ID, TS, "v2,abc", BODY, now),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(SECRET, ID, TS, &header, BODY, now + 301),
            Err(WebhookError::StaleTimestamp)
        );
        assert_eq!(
            verify(SECRET, ID, TS, &header, BODY, now - 301),
            Err(WebhookError::StaleTimestamp)
        );
        assert_eq!(
            verify(SECRET, ID, "soon", &header, BODY, now),
            Err(WebhookError::MissingHeaders)
        );
        for extreme in ["-9223372036854775808", "9223372036854775807"] {
            assert_eq!(
                verify(SECRET, ID, extreme, &header, BODY, now),
                Err(WebhookError::StaleTimestamp),
                "{extreme}"
            );
        }
    }
}
