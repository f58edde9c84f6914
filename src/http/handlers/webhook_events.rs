//! Handlers of the signed webhooks (Clerk via Svix, Stripe). Each verifies the
//! signature over the exact bytes received, applies the event once (by delivery
//! id), and acknowledges.

use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use utoipa::ToSchema;
use warp::http::HeaderMap;
use warp::reply::Reply;

use super::{Result, Service};
use crate::http::error::ApiError;
use crate::http::error::{ErrorBody, SlowBody, TooLarge};
use crate::http::render;
use crate::service::WebhookSource;
use crate::webhooks::clerk_events::{self, ClerkEvent};
use crate::webhooks::stripe_events::{self, StripeAction};
use crate::webhooks::{WebhookError, svix};
use secrecy::{ExposeSecret, SecretString};

/// The webhook secrets; a webhook without its secret answers 503.
#[derive(Clone, Default)]
pub struct WebhookSecrets {
    pub clerk: Option<SecretString>,
    pub stripe: Option<SecretString>,
}

/// `applied` is `false` for a delivery that was already applied, or an event
/// we ignore.
#[derive(Serialize, ToSchema)]
struct WebhookAck {
    success: bool,
    applied: bool,
}

fn ack(applied: bool) -> impl Reply {
    render::ok(&WebhookAck {
        success: true,
        applied,
    })
}

/// The webhook's secret, or 503 while it is not configured.
fn configured(secret: &Option<SecretString>) -> Result<&str> {
    secret
        .as_ref()
        .map(|s| s.expose_secret())
        .ok_or(ApiError::WebhookNotConfigured)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Webhook(WebhookError::MissingHeaders))
}

#[utoipa::path(
    post,
    path = "/webhooks/clerk",
    tag = "webhooks",
    summary = "Clerk user events (Svix-signed)",
    security(()),
    params(
        ("svix-id" = String, Header),
        ("svix-timestamp" = String, Header),
        ("svix-signature" = String, Header),
    ),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = WebhookAck),
        (status = 400, description = "Bad signature, stale timestamp or payload", body = ErrorBody),
        (status = 408, response = SlowBody),
        (status = 413, response = TooLarge),
        (status = 503, description = "Webhook not configured", body = ErrorBody),
    )
)]
pub async fn clerk_webhook(
    headers: HeaderMap,
    body: Bytes,
    secrets: Arc<WebhookSecrets>,
    svc: Service,
) -> Result<impl Reply> {
    let secret = configured(&secrets.clerk)?;
    let id = header(&headers, "svix-id")?;
    svix::verify(
        secret,
        id,
        header(&headers, "svix-timestamp")?,
        header(&headers, "svix-signature")?,
        &body,
        chrono::Utc::now().timestamp(),
    )
    .map_err(ApiError::Webhook)?;
    let parsed =
        clerk_events::parse(&body).map_err(|_| ApiError::Webhook(WebhookError::BadPayload))?;
    // Events are ordered by when Clerk emitted them; Svix's timestamp (when
    // this attempt was sent) stands in only when the payload does not say.
    let at = parsed.occurred_at.unwrap_or_else(|| {
        header(&headers, "svix-timestamp")
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .unwrap_or_else(chrono::Utc::now)
    });
    let source = WebhookSource::Clerk;
    let applied = match parsed.event {
        ClerkEvent::Ignore(reason) => {
            tracing::info!(
                delivery = id,
                reason,
                "Clerk event acknowledged, not applied"
            );
            false
        }
        // Same rules as the frontend's sync, Stripe provisioning included.
        ClerkEvent::Upsert(profile) => {
            svc.apply_once(source, id, || svc.clerk_user_changed(&profile, at))
                .await?
        }
        ClerkEvent::Delete(user) => {
            svc.apply_once(source, id, || svc.clerk_user_deleted(&user, at))
                .await?
        }
    };
    Ok(ack(applied))
}

#[utoipa::path(
    post,
    path = "/webhooks/stripe",
    tag = "webhooks",
    summary = "Stripe events (Stripe-Signature)",
    security(()),
    params(("Stripe-Signature" = String, Header)),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "Success", body = WebhookAck),
        (status = 400, description = "Bad signature, stale timestamp or payload", body = ErrorBody),
        (status = 408, response = SlowBody),
        (status = 413, response = TooLarge),
        (status = 503, description = "Webhook not configured", body = ErrorBody),
    )
)]
pub async fn stripe_webhook(
    headers: HeaderMap,
    body: Bytes,
    secrets: Arc<WebhookSecrets>,
    svc: Service,
) -> Result<impl Reply> {
    let secret = configured(&secrets.stripe)?;
    let payload =
        std::str::from_utf8(&body).map_err(|_| ApiError::Webhook(WebhookError::BadPayload))?;
    let event = stripe_events::verify(payload, header(&headers, "stripe-signature")?, secret)
        .map_err(ApiError::Webhook)?;
    let source = WebhookSource::Stripe;
    let applied = match &event.action {
        StripeAction::Ignore(kind) => {
            tracing::debug!(event = %event.id, kind, "Stripe event acknowledged, not applied");
            false
        }
        StripeAction::PaymentMethodDetached(pm) => {
            svc.apply_once(source, &event.id, || svc.payment_method_detached(pm))
                .await?
        }
        StripeAction::CustomerDeleted(customer) => {
            svc.apply_once(source, &event.id, || svc.customer_deleted(customer))
                .await?
        }
    };
    Ok(ack(applied))
}
