//! `CLERK_WEBHOOK_SECRET` and `STRIPE_WEBHOOK_SECRET`: the signing secrets of
//! the two signed webhooks (read by `webhooks` through the HTTP handlers). A
//! webhook without its secret is refused (503), never accepted unsigned.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{ConfigError, refuse_placeholder};

#[derive(Deserialize)]
pub(super) struct RawWebhooks {
    clerk_webhook_secret: Option<SecretString>,
    stripe_webhook_secret: Option<SecretString>,
}

/// The signed webhooks' secrets; `None` turns that webhook off.
#[derive(Debug, Clone, Default)]
pub struct WebhookSettings {
    pub clerk_secret: Option<SecretString>,
    pub stripe_secret: Option<SecretString>,
}

impl WebhookSettings {
    pub(super) fn check(raw: RawWebhooks) -> Result<Self, ConfigError> {
        let secret = |s: Option<SecretString>| s.filter(|v| !v.expose_secret().trim().is_empty());
        let clerk_secret = secret(raw.clerk_webhook_secret);
        if let Some(s) = &clerk_secret {
            refuse_placeholder("CLERK_WEBHOOK_SECRET", s)?;
            // Svix signs with the base64 part's bytes: a secret that does not
            // decode would reject every delivery, silently, for ever.
            let key = s
                .expose_secret()
                .strip_prefix("whsec_")
                .map(|b| STANDARD.decode(b));
            if !matches!(key, Some(Ok(bytes)) if bytes.len() >= 16) {
                return Err(ConfigError::new(
                    "CLERK_WEBHOOK_SECRET must be whsec_ followed by base64 (Clerk's signing secret)",
                ));
            }
        }
        let stripe_secret = secret(raw.stripe_webhook_secret);
        if let Some(s) = &stripe_secret {
            refuse_placeholder("STRIPE_WEBHOOK_SECRET", s)?;
            // Stripe's endpoint secrets all start so; anything else is a
            // secret copied from the wrong place and would refuse every event.
            if s.expose_secret()
                .strip_prefix("whsec_")
                .is_none_or(|rest| rest.len() < 8)
            {
                return Err(ConfigError::new(
                    "STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret, whsec_… \
                     (Stripe dashboard → Webhooks → the endpoint → Signing secret)",
                ));
            }
        }
        Ok(Self {
            clerk_secret,
            stripe_secret,
        })
    }
}
