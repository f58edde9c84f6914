//! Creating a user's Stripe customer and Connect account, exactly once.
//!
//! The idempotency key of a creation is stored on the row before Stripe is
//! called (`sql/V2`), so a retried request, a crash between Stripe's answer and
//! our write, or two concurrent syncs all send the same key and Stripe replays
//! the first result. After an indeterminate attempt the key is released and the
//! next attempt first looks for what the failed one may have created.

use super::{Result, ServiceError, UserService};
use crate::db::{ClaimedKey, StripeObject};
use crate::domain::{ClerkUserId, CustomerId, User};
use crate::payments::{NewAccountHolder, PaymentsError};

impl UserService {
    /// Creates the customer and the Connect account `user` lacks, recording
    /// their ids on `user`. A failure is logged, never returned: the sync that
    /// asked must still succeed (see `sync_user`).
    pub(super) async fn provision(&self, id: &ClerkUserId, user: &mut User) {
        for object in [StripeObject::Customer, StripeObject::ConnectAccount] {
            match self.ensure(id, user, object).await {
                Ok(created) => match object {
                    StripeObject::Customer => user.stripe_customer_id = Some(created),
                    StripeObject::ConnectAccount => user.stripe_connect_account_id = Some(created),
                },
                Err(e) => {
                    tracing::warn!(user_id = %id, ?object, error = %e, "could not create a Stripe object")
                }
            }
        }
    }

    /// The user's Stripe customer id, creating the customer if there is none.
    /// Parsed before any Stripe path is built from it: a stored id that is not
    /// a `cus_…` (a bad legacy row) is refused, never sent.
    pub(super) async fn ensure_customer(
        &self,
        id: &ClerkUserId,
        user: &User,
    ) -> Result<CustomerId> {
        let raw = self.ensure(id, user, StripeObject::Customer).await?;
        CustomerId::parse(raw).map_err(|e| {
            tracing::error!(user_id = %id, "the stored Stripe customer id is malformed");
            ServiceError::Internal(e.into())
        })
    }

    /// The id of `object` for this user, creating it if there is none.
    async fn ensure(&self, id: &ClerkUserId, user: &User, object: StripeObject) -> Result<String> {
        let stored = match object {
            StripeObject::Customer => &user.stripe_customer_id,
            StripeObject::ConnectAccount => &user.stripe_connect_account_id,
        };
        if let Some(existing) = stored {
            return Ok(existing.clone());
        }
        let claimed = self.claim_key(id, object).await?;
        if claimed.after_indeterminate {
            if let Some(found) = self.find_created(id, user, object).await? {
                tracing::info!(user_id = %id, ?object, "adopted the Stripe object of an earlier indeterminate attempt");
                return self.store_stripe_id(id, object, &found).await;
            }
            self.repo.settle_stripe_key(id, object).await?;
        }
        let name = format!("{} {}", user.first_name, user.last_name)
            .trim()
            .to_owned();
        let holder = NewAccountHolder {
            clerk_user_id: id,
            email: &user.email,
            name: &name,
        };
        let created = match object {
            StripeObject::Customer => self.payments.create_customer(holder, &claimed.key).await,
            StripeObject::ConnectAccount => {
                self.payments
                    .create_connect_account(holder, &claimed.key)
                    .await
            }
        };
        match created {
            Ok(created) => self.store_stripe_id(id, object, &created).await,
            Err(e) => Err(self
                .after_failed_creation(id, object, &claimed.key, e)
                .await),
        }
    }

    /// What an earlier, indeterminate attempt may have created. Customers are
    /// searched by email and metadata; Connect accounts cannot be searched by
    /// metadata, so a duplicate account is possible if that attempt did succeed
    /// (the documented residual risk, docs/payments.md).
    async fn find_created(
        &self,
        id: &ClerkUserId,
        user: &User,
        object: StripeObject,
    ) -> Result<Option<String>> {
        match object {
            StripeObject::Customer => Ok(self.payments.find_customer(&user.email, id).await?),
            StripeObject::ConnectAccount => {
                tracing::warn!(user_id = %id, "retrying a Connect account creation that ended indeterminately");
                Ok(None)
            }
        }
    }

    /// The idempotency key for this creation: `<what>:<user id>` the first time,
    /// a fresh one after an indeterminate attempt (whose key Stripe would replay).
    async fn claim_key(&self, id: &ClerkUserId, object: StripeObject) -> Result<ClaimedKey> {
        let what = match object {
            StripeObject::Customer => "customer",
            StripeObject::ConnectAccount => "account",
        };
        // Stripe accepts keys of up to 255 characters; ids may be that long.
        let base: String = format!("{what}:{id}").chars().take(200).collect();
        let fresh = format!("{base}:{}", uuid::Uuid::new_v4().simple());
        self.repo
            .claim_stripe_key(id, object, &base, &fresh)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// Stores a created id unless one is stored already; returns the stored one
    /// (the first id stored wins).
    async fn store_stripe_id(
        &self,
        id: &ClerkUserId,
        object: StripeObject,
        value: &str,
    ) -> Result<String> {
        let (customer, account) = match object {
            StripeObject::Customer => (Some(value), None),
            StripeObject::ConnectAccount => (None, Some(value)),
        };
        let stored = self
            .repo
            .set_stripe_ids(id, customer, account)
            .await?
            .ok_or(ServiceError::NotFound)?;
        match object {
            StripeObject::Customer => stored.customer,
            StripeObject::ConnectAccount => stored.connect_account,
        }
        .ok_or_else(|| {
            ServiceError::Internal("the stored Stripe id is missing after the write".into())
        })
    }

    /// After a failed creation: an indeterminate outcome releases the key (see
    /// sql/V2); a definite one keeps it, since Stripe stored nothing for it.
    async fn after_failed_creation(
        &self,
        id: &ClerkUserId,
        object: StripeObject,
        key: &str,
        error: PaymentsError,
    ) -> ServiceError {
        if matches!(error, PaymentsError::Unavailable(_))
            && let Err(e) = self.repo.release_stripe_key(id, object, key).await
        {
            tracing::warn!(user_id = %id, error = %e, "could not release an idempotency key");
        }
        error.into()
    }
}
