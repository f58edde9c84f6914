//! Webhook events applied exactly once, by delivery id, whatever the sender's
//! retries: the delivery is recorded only after its effect succeeded, so a
//! failed one is applied again on redelivery.

use chrono::{DateTime, Utc};

use super::{Provisioning, Result, ServiceError, UserService};
use crate::domain::{ClerkUserId, CustomerId, PaymentMethodId, ProfileUpdate};

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
    /// Runs `apply` unless this delivery was applied before. `Ok(false)` when
    /// it was a repeat, or when `apply` found the event out of date (it
    /// returns whether it changed anything); either way the delivery is then
    /// recorded, so a retry of it is not applied later.
    pub async fn apply_once<F, Fut>(
        &self,
        source: WebhookSource,
        delivery_id: &str,
        apply: F,
    ) -> Result<bool>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<bool>>,
    {
        if self
            .repo
            .delivery_seen(source.as_str(), delivery_id)
            .await?
        {
            return Ok(false);
        }
        let applied = apply().await?;
        self.repo
            .record_delivery(source.as_str(), delivery_id)
            .await?;
        Ok(applied)
    }

    /// A Clerk `user.created`/`user.updated` emitted at `at`: applied (Stripe
    /// provisioning included, as a sync) unless the user was deleted at or
    /// after `at`, or a later Clerk event was already applied. `false` when
    /// ignored as out of date.
    pub async fn clerk_user_changed(
        &self,
        profile: &ProfileUpdate,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let id = &profile.clerk_user_id;
        let state = self.repo.clerk_event_state(id).await?;
        // Clerk never reuses a user id, so nothing brings a deleted user back.
        if state.deleted_at.is_some() || state.last_event_at.is_some_and(|last| last > at) {
            tracing::info!(user_id = %id, %at, ?state, "Clerk event older than the user's state: ignored");
            return Ok(false);
        }
        match self.sync_user(profile, Provisioning::Provision).await {
            Ok(_) => {}
            // Deleted between the look and the write.
            Err(ServiceError::UserDeleted) => return Ok(false),
            Err(e) => return Err(e),
        }
        self.repo.stamp_clerk_event(id, at).await?;
        Ok(true)
    }

    /// A Clerk `user.deleted` emitted at `at`: removes the user and leaves a
    /// tombstone, so a late update cannot bring them back.
    pub async fn clerk_user_deleted(&self, id: &ClerkUserId, at: DateTime<Utc>) -> Result<bool> {
        self.repo.delete_user_at(id, at).await?;
        Ok(true)
    }

    /// A Stripe `payment_method.detached`: the card is no longer usable.
    pub async fn payment_method_detached(&self, payment_method: &PaymentMethodId) -> Result<bool> {
        self.repo
            .forget_payment_method(payment_method.as_str())
            .await?;
        Ok(true)
    }

    /// A Stripe `customer.deleted`: forget the customer and its card.
    pub async fn customer_deleted(&self, customer: &CustomerId) -> Result<bool> {
        self.repo.forget_customer(customer.as_str()).await?;
        Ok(true)
    }
}
