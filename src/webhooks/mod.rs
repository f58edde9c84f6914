//! Signed webhooks from Clerk (user lifecycle, signed by Svix) and Stripe
//! (payment method and customer lifecycle): signature checks and event parsing
//! into what the use cases take. The HTTP routes are in `http`.

pub mod clerk_events;
pub mod stripe_events;
pub mod svix;

/// Why a webhook request was refused (400; nothing more is said to the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("missing signature headers")]
    MissingHeaders,
    #[error("signature does not match")]
    BadSignature,
    #[error("timestamp outside the tolerance")]
    StaleTimestamp,
    #[error("payload is not a valid event")]
    BadPayload,
}

/// How far a webhook's timestamp may be from our clock.
pub const TOLERANCE_SECS: i64 = 5 * 60;
