//! Use cases shared by every edge (HTTP today, Kafka and webhooks next). Each takes
//! already-parsed domain values and returns domain values; nothing here knows
//! about warp, rdkafka or the wire format.

use std::collections::HashMap;
use std::sync::Arc;

use crate::db::{
    CardRemoval, ClaimedKey, Conflict, DbError, Repository, StripeObject, UserIdStream,
};
use crate::domain::{
    ClerkUserId, ConnectAccountId, NewTempUser, PaymentMethodId, PaymentRef, ProfileUpdate, Rating,
    RatingKind, StoredCard, User,
};
use crate::payments::{NewAccountHolder, PaymentsError, PaymentsGateway};

/// Why a use case did not complete. Edges map these to their own outcomes (HTTP
/// statuses in `http::error`, Kafka replies or retries in the worker).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("user not found")]
    UserNotFound,
    #[error("no payment method stored for user")]
    NoStoredCard,
    /// A delete found no card to remove (the original answered 400 for it).
    #[error("no payment method to delete")]
    NoCardToDelete,
    #[error("conflict on {0:?}")]
    Conflict(Conflict),
    #[error(transparent)]
    Payments(#[from] PaymentsError),
    /// The database is unreachable right now; the same call may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DbError> for ServiceError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(e) => ServiceError::Unavailable(e),
            DbError::Conflict(c) => ServiceError::Conflict(c),
            DbError::Internal(e) => ServiceError::Internal(e),
            e @ DbError::LegacySchema => ServiceError::Internal(e.to_string()),
        }
    }
}

type Result<T> = std::result::Result<T, ServiceError>;

/// Why payment info cannot be given for a user (a business outcome, answered to
/// the caller; not an error of the service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentInfoFailure {
    UserNotFound,
    NoStripeCustomer,
    NoDefaultPaymentMethod,
}

/// The payment info of one user, as the saga orchestrators need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentInfo {
    Retrieved {
        stripe_customer_id: String,
        payment_method_id: String,
    },
    Failed(PaymentInfoFailure),
}

impl PaymentInfo {
    fn from_ref(r: Option<&PaymentRef>) -> Self {
        let Some(r) = r else {
            return PaymentInfo::Failed(PaymentInfoFailure::UserNotFound);
        };
        match (&r.stripe_customer_id, &r.default_payment_method_id) {
            (None, _) => PaymentInfo::Failed(PaymentInfoFailure::NoStripeCustomer),
            (Some(_), None) => PaymentInfo::Failed(PaymentInfoFailure::NoDefaultPaymentMethod),
            (Some(c), Some(pm)) => PaymentInfo::Retrieved {
                stripe_customer_id: c.clone(),
                payment_method_id: pm.clone(),
            },
        }
    }
}

/// Hard cap on one page of `list-users`.
pub const MAX_PAGE_SIZE: i64 = 1000;

/// The user service's use cases over one repository and one payments gateway.
pub struct UserService {
    repo: Repository,
    payments: Arc<dyn PaymentsGateway>,
}

impl UserService {
    pub fn new(repo: Repository, payments: Arc<dyn PaymentsGateway>) -> Self {
        Self { repo, payments }
    }

    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// Readiness: can we reach the database now?
    pub async fn check_ready(&self) -> Result<()> {
        Ok(self.repo.ping().await?)
    }

    pub async fn get_user(&self, id: &ClerkUserId) -> Result<User> {
        self.repo
            .find_user(id)
            .await?
            .ok_or(ServiceError::UserNotFound)
    }

    pub async fn stored_card(&self, id: &ClerkUserId) -> Result<StoredCard> {
        self.get_user(id)
            .await?
            .card
            .ok_or(ServiceError::NoStoredCard)
    }

    pub async fn connect_account(&self, id: &ClerkUserId) -> Result<Option<String>> {
        Ok(self.get_user(id).await?.stripe_connect_account_id)
    }

    pub async fn set_connect_account(
        &self,
        id: &ClerkUserId,
        account: &ConnectAccountId,
    ) -> Result<()> {
        found(self.repo.set_connect_account(id, account).await?)
    }

    pub async fn set_rating(
        &self,
        id: &ClerkUserId,
        kind: RatingKind,
        rating: Rating,
    ) -> Result<()> {
        found(self.repo.set_rating(id, kind, rating).await?)
    }

    pub async fn create_temp_user(&self, user: &NewTempUser) -> Result<User> {
        Ok(self.repo.insert_temp_user(user).await?)
    }

    /// Creates the user on first sight or updates its profile. Then, unless
    /// `provision` is false, creates the Stripe customer and Connect account the
    /// user lacks. The row is saved before Stripe is called, so no Stripe object
    /// can exist without our row; a payments failure is logged and never fails
    /// the sync (the frontend depends on a 200): the customer is then created by
    /// the next payment-method add, the account by the next sync.
    pub async fn sync_user(
        &self,
        profile: &ProfileUpdate,
        provision: bool,
    ) -> Result<(User, bool)> {
        let (mut user, created) = self.repo.upsert_profile(profile).await?;
        if provision && self.payments.is_configured() {
            let id = &profile.clerk_user_id;
            match self.ensure_customer(id, &user).await {
                Ok(c) => user.stripe_customer_id = Some(c),
                Err(e) => {
                    tracing::warn!(user_id = %id, error = %e, "could not create the Stripe customer")
                }
            }
            match self.ensure_connect_account(id, &user).await {
                Ok(a) => user.stripe_connect_account_id = Some(a),
                Err(e) => {
                    tracing::warn!(user_id = %id, error = %e, "could not create the Stripe Connect account")
                }
            }
        }
        Ok((user, created))
    }

    /// The user's Stripe customer id, creating the customer if there is none.
    async fn ensure_customer(&self, id: &ClerkUserId, user: &User) -> Result<String> {
        if let Some(c) = &user.stripe_customer_id {
            return Ok(c.clone());
        }
        let object = StripeObject::Customer;
        let claimed = self.claim_key(id, object, "customer").await?;
        let name = full_name(user);
        let holder = NewAccountHolder {
            clerk_user_id: id,
            email: &user.email,
            name: &name,
        };
        if claimed.after_indeterminate {
            // The last attempt may have created a customer: adopt it if so.
            if let Some(found) = self.payments.find_customer(&user.email, id).await? {
                tracing::info!(user_id = %id, "adopted the Stripe customer of an earlier indeterminate attempt");
                return self.store_stripe_id(id, object, &found).await;
            }
            self.repo.settle_stripe_key(id, object).await?;
        }
        match self.payments.create_customer(holder, &claimed.key).await {
            Ok(c) => self.store_stripe_id(id, object, &c).await,
            Err(e) => Err(self
                .after_failed_creation(id, object, &claimed.key, e)
                .await),
        }
    }

    /// The user's Connect account id, creating the account if there is none.
    async fn ensure_connect_account(&self, id: &ClerkUserId, user: &User) -> Result<String> {
        if let Some(a) = &user.stripe_connect_account_id {
            return Ok(a.clone());
        }
        let object = StripeObject::ConnectAccount;
        let claimed = self.claim_key(id, object, "account").await?;
        if claimed.after_indeterminate {
            // Accounts cannot be searched by metadata: a duplicate is possible
            // if the earlier attempt did succeed (documented residual risk).
            tracing::warn!(user_id = %id, "retrying a Connect account creation that ended indeterminately");
            self.repo.settle_stripe_key(id, object).await?;
        }
        let name = full_name(user);
        let holder = NewAccountHolder {
            clerk_user_id: id,
            email: &user.email,
            name: &name,
        };
        match self
            .payments
            .create_connect_account(holder, &claimed.key)
            .await
        {
            Ok(a) => self.store_stripe_id(id, object, &a).await,
            Err(e) => Err(self
                .after_failed_creation(id, object, &claimed.key, e)
                .await),
        }
    }

    /// The idempotency key for this creation: `<what>:<user id>` the first time,
    /// a fresh one after an indeterminate attempt (whose key Stripe would replay).
    async fn claim_key(
        &self,
        id: &ClerkUserId,
        object: StripeObject,
        what: &str,
    ) -> Result<ClaimedKey> {
        // Stripe accepts keys of up to 255 characters; ids may be that long.
        let base: String = format!("{what}:{id}").chars().take(200).collect();
        let fresh = format!("{base}:{}", uuid::Uuid::new_v4().simple());
        self.repo
            .claim_stripe_key(id, object, &base, &fresh)
            .await?
            .ok_or(ServiceError::UserNotFound)
    }

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
        let (stored_customer, stored_account) = self
            .repo
            .set_stripe_ids(id, customer, account)
            .await?
            .ok_or(ServiceError::UserNotFound)?;
        // The first id stored wins; return that one.
        match object {
            StripeObject::Customer => stored_customer,
            StripeObject::ConnectAccount => stored_account,
        }
        .ok_or_else(|| ServiceError::Internal("stored Stripe id missing".into()))
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

    /// `PUT /user/{id}/payment`: store the card of an existing PaymentMethod.
    /// Nothing is stored unless the provider answered with a valid card.
    pub async fn update_payment_method(
        &self,
        id: &ClerkUserId,
        pm: &PaymentMethodId,
    ) -> Result<StoredCard> {
        self.require_payments()?;
        self.get_user(id).await?;
        let card = self.payments.retrieve_payment_method(pm).await?;
        self.repo
            .store_card(id, &card)
            .await?
            .ok_or(ServiceError::UserNotFound)
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
        let card = self.payments.retrieve_payment_method(pm).await?;
        self.repo
            .store_card(id, &card)
            .await?
            .ok_or(ServiceError::UserNotFound)
    }

    /// A Clerk `user.deleted`: removes the user. Deleting an absent user is fine.
    pub async fn delete_user(&self, id: &ClerkUserId) -> Result<()> {
        self.repo.delete_user(id).await?;
        Ok(())
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

    /// Applies a webhook delivery once: `apply` runs unless this delivery was
    /// applied before; `Ok(false)` when it was a repeat. The delivery is recorded
    /// only after `apply` succeeded, so a failed one is applied on redelivery.
    pub async fn once<F, Fut>(&self, source: &str, delivery_id: &str, apply: F) -> Result<bool>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        if self.repo.delivery_seen(source, delivery_id).await? {
            return Ok(false);
        }
        apply().await?;
        self.repo.record_delivery(source, delivery_id).await?;
        Ok(true)
    }

    /// Forgets the stored card (both DELETE payment routes).
    pub async fn remove_card(&self, id: &ClerkUserId) -> Result<()> {
        match self.repo.clear_card(id).await? {
            CardRemoval::Removed => Ok(()),
            CardRemoval::NoCard => Err(ServiceError::NoCardToDelete),
            CardRemoval::NoSuchUser => Err(ServiceError::UserNotFound),
        }
    }

    /// Every user id after `after`, streamed.
    pub async fn user_ids(&self, after: Option<&ClerkUserId>) -> Result<UserIdStream> {
        Ok(self.repo.stream_user_ids(after).await?)
    }

    /// One page of ids and the cursor of the next page (`None` on the last page).
    pub async fn user_ids_page(
        &self,
        after: Option<&ClerkUserId>,
        limit: i64,
    ) -> Result<(Vec<String>, Option<String>)> {
        let limit = limit.clamp(1, MAX_PAGE_SIZE);
        // One extra row tells whether another page exists without a COUNT.
        let mut ids = self.repo.user_ids_page(after, limit + 1).await?;
        let next = if ids.len() as i64 > limit {
            ids.truncate(limit as usize);
            ids.last().cloned()
        } else {
            None
        };
        Ok((ids, next))
    }

    /// Payment info for each id, in the order given, with one query for all of
    /// them (the worker answers a whole poll batch with this).
    pub async fn payment_info_batch(&self, ids: &[ClerkUserId]) -> Result<Vec<PaymentInfo>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut unique: Vec<ClerkUserId> = ids.to_vec();
        unique.sort();
        unique.dedup();
        let refs = self.repo.payment_refs(&unique).await?;
        let by_id: HashMap<&str, &PaymentRef> =
            refs.iter().map(|r| (r.clerk_user_id.as_str(), r)).collect();
        Ok(ids
            .iter()
            .map(|id| PaymentInfo::from_ref(by_id.get(id.as_str()).copied()))
            .collect())
    }

    fn require_payments(&self) -> Result<()> {
        if self.payments.is_configured() {
            Ok(())
        } else {
            Err(PaymentsError::NotConfigured.into())
        }
    }
}

fn full_name(user: &User) -> String {
    format!("{} {}", user.first_name, user.last_name)
        .trim()
        .to_owned()
}

fn found(updated: bool) -> Result<()> {
    if updated {
        Ok(())
    } else {
        Err(ServiceError::UserNotFound)
    }
}
