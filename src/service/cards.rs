//! The stored card: read, store from a PaymentMethod, forget.

use super::{Result, ServiceError, UserService};
use crate::db::CardRemoval;
use crate::domain::{CardDetails, ClerkUserId, PaymentMethodId, StoredCard};

impl UserService {
    pub async fn stored_card(&self, id: &ClerkUserId) -> Result<StoredCard> {
        self.get_user(id)
            .await?
            .card
            .ok_or(ServiceError::NoStoredCard)
    }

    /// `PUT /user/{id}/payment`: store the card of an existing PaymentMethod.
    /// Nothing is stored unless the provider answered with a valid card that is
    /// the user's: attached to their customer, or unattached (then it is
    /// attached first, as `add_payment_method` does). A PaymentMethod of
    /// another customer would hand the orchestrators someone else's card.
    pub async fn update_payment_method(
        &self,
        id: &ClerkUserId,
        pm: &PaymentMethodId,
    ) -> Result<StoredCard> {
        self.require_payments()?;
        let user = self.get_user(id).await?;
        let retrieved = self.payments.retrieve_payment_method(pm).await?;
        match (&retrieved.customer, &user.stripe_customer_id) {
            // Equal to the stored id: nothing is sent to Stripe with it.
            (Some(owner), Some(ours)) if owner == ours => {}
            (None, _) => {
                let customer_id = self.ensure_customer(id, &user).await?;
                self.payments
                    .attach_payment_method(pm, &customer_id)
                    .await?;
            }
            (Some(_), _) => return Err(ServiceError::PaymentMethodNotOwned),
        }
        self.store(id, &retrieved.card).await
    }

    /// `POST /user/{id}/payment-methods`: attach a PaymentMethod to the user's
    /// customer (created if missing), make it the default, store its card.
    pub async fn add_payment_method(
        &self,
        id: &ClerkUserId,
        pm: &PaymentMethodId,
    ) -> Result<StoredCard> {
        self.require_payments()?;
        let user = self.get_user(id).await?;
        let customer_id = self.ensure_customer(id, &user).await?;
        self.payments
            .attach_payment_method(pm, &customer_id)
            .await?;
        self.payments
            .set_default_payment_method(&customer_id, pm)
            .await?;
        let retrieved = self.payments.retrieve_payment_method(pm).await?;
        self.store(id, &retrieved.card).await
    }

    /// Forgets the stored card (both DELETE payment routes).
    pub async fn remove_card(&self, id: &ClerkUserId) -> Result<()> {
        match self.repo.clear_card(id).await? {
            CardRemoval::Removed => Ok(()),
            CardRemoval::NoCard => Err(ServiceError::NoCardToDelete),
            CardRemoval::NoSuchUser => Err(ServiceError::NotFound),
        }
    }

    async fn store(&self, id: &ClerkUserId, card: &CardDetails) -> Result<StoredCard> {
        self.repo
            .store_card(id, card)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    fn require_payments(&self) -> Result<()> {
        if self.payments.is_configured() {
            Ok(())
        } else {
            Err(ServiceError::PaymentsNotConfigured)
        }
    }
}
