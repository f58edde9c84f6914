//! The Stripe ids of a user and the idempotency keys of their creation (sql/V2).

use super::statements::*;
use super::*;

impl Repository {
    /// Records Stripe ids created for a user where none is stored yet, and returns
    /// the ids now stored; `None` when there is no such user.
    pub async fn set_stripe_ids(
        &self,
        id: &ClerkUserId,
        customer_id: Option<&str>,
        connect_account_id: Option<&str>,
    ) -> Result<Option<StripeIds>, DbError> {
        let row = self
            .query_opt(
                SET_STRIPE_IDS,
                &[&id.as_str(), &customer_id, &connect_account_id],
            )
            .await?;
        Ok(row.map(|r| StripeIds {
            customer: r.get(0),
            connect_account: r.get(1),
        }))
    }

    /// The idempotency key for creating `object` for this user: the stored one,
    /// else `first` (never tried) or `fresh` (after an indeterminate attempt).
    /// `None` when there is no such user.
    pub async fn claim_stripe_key(
        &self,
        id: &ClerkUserId,
        object: StripeObject,
        first: &str,
        fresh: &str,
    ) -> Result<Option<ClaimedKey>, DbError> {
        let sql = match object {
            StripeObject::Customer => CLAIM_CUSTOMER_KEY,
            StripeObject::ConnectAccount => CLAIM_ACCOUNT_KEY,
        };
        let row = self.query_opt(sql, &[&id.as_str(), &first, &fresh]).await?;
        Ok(row.map(|r| ClaimedKey {
            key: r.get(0),
            after_indeterminate: r.get(1),
        }))
    }

    /// Records that the attempt with `key` ended indeterminately: the key is
    /// dropped (Stripe would replay its failure for a day) and the next attempt
    /// must first look for what this one may have created.
    pub async fn release_stripe_key(
        &self,
        id: &ClerkUserId,
        object: StripeObject,
        key: &str,
    ) -> Result<(), DbError> {
        let sql = match object {
            StripeObject::Customer => RELEASE_CUSTOMER_KEY,
            StripeObject::ConnectAccount => RELEASE_ACCOUNT_KEY,
        };
        self.execute(sql, &[&id.as_str(), &key]).await.map(drop)
    }

    /// The look-up after an indeterminate attempt is done.
    pub async fn settle_stripe_key(
        &self,
        id: &ClerkUserId,
        object: StripeObject,
    ) -> Result<(), DbError> {
        let sql = match object {
            StripeObject::Customer => SETTLE_CUSTOMER,
            StripeObject::ConnectAccount => SETTLE_ACCOUNT,
        };
        self.execute(sql, &[&id.as_str()]).await.map(drop)
    }
}
