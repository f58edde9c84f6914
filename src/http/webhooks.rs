//! Handlers of the signed webhooks. Each verifies the signature over the exact
//! bytes received, applies the event once (by delivery id), and acknowledges.

use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use warp::http::HeaderMap;
use warp::reply::Response;

use super::error::ApiError;
use super::handlers::{Svc, respond};
use super::wire;
use crate::config::Secret;
use crate::webhooks::clerk::{self, ClerkEvent};
use crate::webhooks::stripe::{self, StripeAction};
use crate::webhooks::{WebhookError, svix};

/// The webhook secrets; a webhook without its secret answers 503.
#[derive(Clone, Default)]
pub struct WebhookSecrets {
    pub clerk: Option<Secret>,
    pub stripe: Option<Secret>,
}

#[derive(Serialize)]
struct Ack {
    success: bool,
    /// `false` for a delivery that was already applied, or an event we ignore.
    applied: bool,
}

fn ack(applied: bool) -> Response {
    wire::ok(&Ack {
        success: true,
        applied,
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Webhook(WebhookError::MissingHeaders))
}

pub async fn clerk_webhook(
    headers: HeaderMap,
    body: Bytes,
    secrets: Arc<WebhookSecrets>,
    svc: Svc,
) -> Response {
    respond(
        async {
            let secret = secrets
                .clerk
                .as_ref()
                .ok_or(ApiError::WebhookNotConfigured)?;
            let id = header(&headers, "svix-id")?;
            svix::verify(
                secret.expose(),
                id,
                header(&headers, "svix-timestamp")?,
                header(&headers, "svix-signature")?,
                &body,
                chrono::Utc::now().timestamp(),
            )
            .map_err(ApiError::Webhook)?;
            let event =
                clerk::parse(&body).map_err(|_| ApiError::Webhook(WebhookError::BadPayload))?;
            let applied = match event {
                ClerkEvent::Ignore(reason) => {
                    tracing::info!(
                        delivery = id,
                        reason,
                        "Clerk event acknowledged, not applied"
                    );
                    false
                }
                ClerkEvent::Upsert(profile) => {
                    svc.once("clerk", id, || async {
                        // Same rules as the frontend's sync, Stripe provisioning included.
                        svc.sync_user(&profile, true).await.map(drop)
                    })
                    .await?
                }
                ClerkEvent::Delete(user) => {
                    svc.once("clerk", id, || svc.delete_user(&user)).await?
                }
            };
            Ok(ack(applied))
        }
        .await,
    )
}

pub async fn stripe_webhook(
    headers: HeaderMap,
    body: Bytes,
    secrets: Arc<WebhookSecrets>,
    svc: Svc,
) -> Response {
    respond(async {
        let secret = secrets
            .stripe
            .as_ref()
            .ok_or(ApiError::WebhookNotConfigured)?;
        let payload =
            std::str::from_utf8(&body).map_err(|_| ApiError::Webhook(WebhookError::BadPayload))?;
        let event = stripe::verify(
            payload,
            header(&headers, "stripe-signature")?,
            secret.expose(),
        )
        .map_err(ApiError::Webhook)?;
        let applied = match &event.action {
            StripeAction::Ignore(kind) => {
                tracing::debug!(event = %event.id, kind, "Stripe event acknowledged, not applied");
                false
            }
            StripeAction::PaymentMethodDetached(pm) => {
                svc.once("stripe", &event.id, || svc.payment_method_detached(pm))
                    .await?
            }
            StripeAction::CustomerDeleted(customer) => {
                svc.once("stripe", &event.id, || svc.customer_deleted(customer))
                    .await?
            }
        };
        Ok(ack(applied))
    }
    .await)
}
