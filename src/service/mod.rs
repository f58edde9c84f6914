//! Use cases shared by every edge (HTTP handlers, Clerk and Stripe webhooks, the
//! Kafka worker). Each takes already-parsed domain values and returns domain
//! values; nothing here knows about warp, rdkafka or the wire format, and
//! nothing below (repository, payments gateway) leaks out: errors are
//! [`ServiceError`]s in the use cases' own words.
//!
//! One file per group of use cases: profiles here, `provisioning` (Stripe
//! customer and Connect account), `cards`, `deliveries` (webhook events
//! applied once), `listing`, `payment_info` (the worker's batches).

mod cards;
mod deliveries;
mod error;
mod listing;
mod payment_info;
mod provisioning;

use std::sync::Arc;

pub use deliveries::WebhookSource;
pub use error::ServiceError;
pub use listing::{MAX_PAGE_SIZE, UserIdPage};
pub use payment_info::{PaymentInfo, PaymentInfoFailure};

use crate::db::Repository;
use crate::domain::{
    ClerkUserId, ConnectAccountId, NewTempUser, ProfileUpdate, Rating, RatingKind, User,
};
use crate::metrics::PoolGauges;
use crate::payments::PaymentsGateway;

type Result<T> = std::result::Result<T, ServiceError>;

/// Whether a sync may create the Stripe objects the user lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provisioning {
    /// Create the customer and Connect account if missing (a normal sync).
    Provision,
    /// Just the profile (the frontend's `profile_update_only: true`).
    ProfileOnly,
}

/// The outcome of a sync.
#[derive(Debug, Clone)]
pub struct Synced {
    pub user: User,
    /// `true` when this sync created the user.
    pub created: bool,
}

/// The user service's use cases over one repository and one payments gateway.
pub struct UserService {
    repo: Repository,
    payments: Arc<dyn PaymentsGateway>,
}

impl UserService {
    pub fn new(repo: Repository, payments: Arc<dyn PaymentsGateway>) -> Self {
        Self { repo, payments }
    }

    /// Readiness: can we reach the database now?
    pub async fn check_ready(&self) -> Result<()> {
        Ok(self.repo.ping().await?)
    }

    /// The connection pool's state, for `/metrics`.
    pub fn pool_gauges(&self) -> PoolGauges {
        self.repo.pool_gauges()
    }

    pub async fn get_user(&self, id: &ClerkUserId) -> Result<User> {
        self.repo.find_user(id).await?.ok_or(ServiceError::NotFound)
    }

    pub async fn connect_account(&self, id: &ClerkUserId) -> Result<Option<String>> {
        Ok(self.get_user(id).await?.stripe_connect_account_id)
    }

    pub async fn set_connect_account(
        &self,
        id: &ClerkUserId,
        account: &ConnectAccountId,
    ) -> Result<()> {
        user_was_found(self.repo.set_connect_account(id, account).await?)
    }

    pub async fn set_rating(
        &self,
        id: &ClerkUserId,
        kind: RatingKind,
        rating: Rating,
    ) -> Result<()> {
        user_was_found(self.repo.set_rating(id, kind, rating).await?)
    }

    pub async fn create_temp_user(&self, user: &NewTempUser) -> Result<User> {
        Ok(self.repo.insert_temp_user(user).await?)
    }

    /// Creates the user on first sight or updates its profile, then (with
    /// [`Provisioning::Provision`]) creates the Stripe customer and Connect
    /// account the user lacks. The row is saved before Stripe is called, so no
    /// Stripe object can exist without our row; a payments failure is logged and
    /// never fails the sync (the frontend depends on a 200): the customer is then
    /// created by the next payment-method add, the account by the next sync.
    pub async fn sync_user(
        &self,
        profile: &ProfileUpdate,
        provisioning: Provisioning,
    ) -> Result<Synced> {
        let (mut user, created) = self.repo.upsert_profile(profile).await?;
        if provisioning == Provisioning::Provision && self.payments.is_configured() {
            self.provision(&profile.clerk_user_id, &mut user).await;
        }
        Ok(Synced { user, created })
    }
}

/// `updated` is what a write by user id returned: `false` means no such user.
fn user_was_found(updated: bool) -> Result<()> {
    if updated {
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}
