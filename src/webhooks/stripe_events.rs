//! Stripe's events, verified with async-stripe's own `Stripe-Signature` checker.

use stripe_webhook::{EventObject, Webhook};

use super::WebhookError;
use crate::domain::{CustomerId, PaymentMethodId};

/// What a Stripe event asks of us.
#[derive(Debug, PartialEq, Eq)]
pub enum StripeAction {
    /// `payment_method.detached`: forget the card if it is this one.
    PaymentMethodDetached(PaymentMethodId),
    /// `customer.deleted`: forget the customer and its card.
    CustomerDeleted(CustomerId),
    /// Acknowledged, nothing to do.
    Ignore(String),
}

/// A verified event: its id (for replay protection) and what to do.
#[derive(Debug)]
pub struct StripeEvent {
    pub id: String,
    pub action: StripeAction,
}

/// Verifies the signature (5-minute tolerance, the library's) and parses.
pub fn verify(payload: &str, signature: &str, secret: &str) -> Result<StripeEvent, WebhookError> {
    let event = Webhook::construct_event(payload, signature, secret).map_err(|e| {
        tracing::debug!(error = %e, "Stripe webhook refused");
        match e {
            stripe_webhook::WebhookError::BadTimestamp(_) => WebhookError::StaleTimestamp,
            stripe_webhook::WebhookError::BadParse(_) => WebhookError::BadPayload,
            _ => WebhookError::BadSignature,
        }
    })?;
    let action = match event.data.object {
        // Signed, but parsed like any input before it reaches a query.
        EventObject::PaymentMethodDetached(pm) => StripeAction::PaymentMethodDetached(
            PaymentMethodId::parse(pm.id.to_string(), "id")
                .map_err(|_| WebhookError::BadPayload)?,
        ),
        EventObject::CustomerDeleted(c) => StripeAction::CustomerDeleted(
            CustomerId::parse(c.id.to_string()).map_err(|_| WebhookError::BadPayload)?,
        ),
        _ => StripeAction::Ignore(event.type_.as_str().to_owned()),
    };
    Ok(StripeEvent {
        id: event.id.to_string(),
        action,
    })
}
