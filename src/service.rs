//! Use cases shared by every edge (HTTP today, Kafka and webhooks next). Each takes
//! already-parsed domain values and returns domain values; nothing here knows
//! about warp, rdkafka or the wire format.

use std::collections::HashMap;
use std::sync::Arc;

use crate::db::{Conflict, DbError, Repository, UserIdStream};
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

    /// Creates the user on first sight or updates its profile. For a user without
    /// Stripe ids, and unless `provision` is false, tries to create them; a payments
    /// failure is logged and never fails the sync (the frontend depends on a 200).
    pub async fn sync_user(
        &self,
        profile: &ProfileUpdate,
        provision: bool,
    ) -> Result<(User, bool)> {
        let (mut user, created) = self.repo.upsert_profile(profile).await?;
        if provision && self.payments.is_configured() {
            self.provision_stripe(&profile.clerk_user_id, &mut user)
                .await;
        }
        Ok((user, created))
    }

    async fn provision_stripe(&self, id: &ClerkUserId, user: &mut User) {
        let name = format!("{} {}", user.first_name, user.last_name);
        let holder = NewAccountHolder {
            clerk_user_id: id,
            email: &user.email,
            name: name.trim(),
        };
        let customer = match &user.stripe_customer_id {
            Some(_) => None,
            None => self
                .payments
                .create_customer(holder)
                .await
                .inspect_err(|e| tracing::warn!(user_id = %id, error = %e, "creating Stripe customer failed"))
                .ok(),
        };
        let account = match &user.stripe_connect_account_id {
            Some(_) => None,
            None => self
                .payments
                .create_connect_account(holder)
                .await
                .inspect_err(|e| tracing::warn!(user_id = %id, error = %e, "creating Stripe Connect account failed"))
                .ok(),
        };
        if customer.is_none() && account.is_none() {
            return;
        }
        match self
            .repo
            .set_stripe_ids(id, customer.as_deref(), account.as_deref())
            .await
        {
            Ok(_) => {
                if customer.is_some() {
                    user.stripe_customer_id = customer;
                }
                if account.is_some() {
                    user.stripe_connect_account_id = account;
                }
            }
            Err(e) => tracing::warn!(user_id = %id, error = %e, "storing Stripe ids failed"),
        }
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
        let customer_id = match user.stripe_customer_id {
            Some(c) => c,
            None => {
                let name = format!("{} {}", user.first_name, user.last_name);
                let holder = NewAccountHolder {
                    clerk_user_id: id,
                    email: &user.email,
                    name: name.trim(),
                };
                let c = self.payments.create_customer(holder).await?;
                self.repo.set_stripe_ids(id, Some(&c), None).await?;
                c
            }
        };
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

    /// Forgets the stored card (both DELETE payment routes). Idempotent.
    pub async fn remove_card(&self, id: &ClerkUserId) -> Result<()> {
        found(self.repo.clear_card(id).await?)
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

fn found(updated: bool) -> Result<()> {
    if updated {
        Ok(())
    } else {
        Err(ServiceError::UserNotFound)
    }
}
