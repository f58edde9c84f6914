//! The stored card: store, clear, and forget it when Stripe says it is gone.

use super::statements::*;
use super::*;

impl Repository {
    /// Stores a card as the user's one payment method; `None` when there is no such user.
    pub async fn store_card(
        &self,
        id: &ClerkUserId,
        card: &CardDetails,
    ) -> Result<Option<StoredCard>, DbError> {
        let row = self
            .query_opt(
                STORE_CARD,
                &[
                    &id.as_str(),
                    &card.payment_method_id().as_str(),
                    &card.brand(),
                    &card.last4(),
                    &card.exp_month(),
                    &card.exp_year(),
                ],
            )
            .await?;
        Ok(row.map(|r| card_from_row(&r, 0).expect("RETURNING yields a whole card")))
    }

    /// Forgets the card of whichever user stores this payment method.
    pub async fn forget_payment_method(&self, payment_method_id: &str) -> Result<bool, DbError> {
        self.execute(FORGET_PAYMENT_METHOD, &[&payment_method_id])
            .await
    }

    /// Forgets a deleted Stripe customer (and the card that belonged to it).
    pub async fn forget_customer(&self, customer_id: &str) -> Result<bool, DbError> {
        self.execute(FORGET_CUSTOMER, &[&customer_id]).await
    }

    /// Forgets the stored card.
    pub async fn clear_card(&self, id: &ClerkUserId) -> Result<CardRemoval, DbError> {
        let row = self.query_opt(CLEAR_CARD, &[&id.as_str()]).await?;
        Ok(match row.map(|r| r.get::<_, bool>(0)) {
            None => CardRemoval::NoSuchUser,
            Some(false) => CardRemoval::NoCard,
            Some(true) => CardRemoval::Removed,
        })
    }
}
