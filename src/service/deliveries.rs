//! Webhook events applied exactly once, by delivery id, whatever the sender's
//! retries: the delivery is recorded only after its effect succeeded, so a
//! failed one is applied again on redelivery.

use super::{Result, UserService};

/// Who signed a webhook delivery (its id is unique per sender).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookSource {
    Clerk,
    Stripe,
}

impl WebhookSource {
    /// The `webhook_deliveries.source` value.
    fn as_str(self) -> &'static str {
        match self {
            WebhookSource::Clerk => "clerk",
            WebhookSource::Stripe => "stripe",
        }
    }
}

impl UserService {
    /// Runs `apply` unless this delivery was applied before; `Ok(false)` when
    /// it was a repeat.
    pub async fn apply_once<F, Fut>(
        &self,
        source: WebhookSource,
        delivery_id: &str,
        apply: F,
    ) -> Result<bool>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        if self
            .repo
            .delivery_seen(source.as_str(), delivery_id)
            .await?
        {
            return Ok(false);
        }
        apply().await?;
        self.repo
            .record_delivery(source.as_str(), delivery_id)
            .await?;
        Ok(true)
    }

    /// A Stripe `payment_method.detached`: the card is no longer usable.
    pub async fn payment_method_detached(&self, payment_method_id: &str) -> Result<()> {
        self.repo.forget_payment_method(payment_method_id).await?;
        Ok(())
    }

    /// A Stripe `customer.deleted`: forget the customer and its card.
    pub async fn customer_deleted(&self, customer_id: &str) -> Result<()> {
        self.repo.forget_customer(customer_id).await?;
        Ok(())
    }
}
