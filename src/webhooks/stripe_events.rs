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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const SECRET: &str = "whsec_test_secret";

    fn signed(kind: &str, fixture: &str, id: &str) -> (String, String) {
        let mut object: Value = serde_json::from_str(fixture).unwrap();
        object["id"] = json!(id);
        let body = json!({"id": "evt_1", "object": "event", "api_version": "2024-06-20",
            "created": 1_700_000_000, "livemode": false, "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null}, "type": kind,
            "data": {"object": object}})
        .to_string();
        let signature = Webhook::generate_test_header(&body, SECRET, None);
        (body, signature)
    }

    /// A signature proves who sent an event, not that its ids are ids: one
    /// that could leave its URL segment never reaches a query or Stripe.
    #[test]
    fn signed_events_carrying_malformed_ids_are_bad_payloads() {
        let pm = include_str!("../../tests/fixtures/stripe/payment_method.json");
        let cus = include_str!("../../tests/fixtures/stripe/customer.json");
        for (kind, fixture, good, bad) in [
            (
                "payment_method.detached",
                pm,
                "pm_card",
                "pm_x/../../v1/customers",
            ),
            (
                "customer.deleted",
                cus,
                "cus_keep",
                "cus_x/../../accounts/acct_victim",
            ),
        ] {
            let (body, signature) = signed(kind, fixture, good);
            assert!(verify(&body, &signature, SECRET).is_ok(), "{kind} {good}");
            let (body, signature) = signed(kind, fixture, bad);
            assert!(
                matches!(
                    verify(&body, &signature, SECRET),
                    Err(WebhookError::BadPayload)
                ),
                "{kind} {bad}"
            );
        }
    }
}
