//! Use cases shared by every edge (HTTP handlers, Clerk and Stripe webhooks, the
//! Kafka worker). Each takes already-parsed domain values and returns domain
//! values; nothing here knows about warp, rdkafka or the wire format, and
//! nothing below (repository, payments gateway) leaks out: errors are
//! [`ServiceError`]s in the use cases' own words.
//!
//! One file per group of use cases: profiles here, `provisioning` (Stripe
//! customer and Connect account), `cards`, `deliveries` (webhook events
//! applied once), `listing`, `payment_info` (the worker's batches),
//! `directory` (the user directory's look-up, relay and backfill).

mod cards;
mod deliveries;
mod directory;
mod error;
mod listing;
mod payment_info;
mod provisioning;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use deliveries::WebhookSource;
pub use directory::MAX_LOOKUP_IDS;
pub use error::ServiceError;
pub use listing::{MAX_PAGE_SIZE, UserIdPage};
pub use payment_info::{PaymentInfo, PaymentInfoFailure};

use crate::db::{Repository, Upserted};
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
    /// The last readiness probe.
    ready: tokio::sync::Mutex<Option<ReadyProbe>>,
    /// The schema has been seen at this release's migrations (it never goes
    /// back, so it is not looked at again).
    schema_current: std::sync::atomic::AtomicBool,
}

/// Why a readiness probe failed (kept for the probes that share it).
#[derive(Debug, Clone)]
enum NotReady {
    Unreachable(String),
    SchemaBehind { database: i64, release: i64 },
}

/// A readiness probe's result, shared by the probes that follow it.
struct ReadyProbe {
    at: Instant,
    /// `Repository::reachability_seen` right after it ran.
    seen: (u64, u64),
    outcome: std::result::Result<(), NotReady>,
}

/// How long one readiness probe answers for everyone: short enough that
/// `/ready` stays truthful, long enough that a flood costs one query a second.
pub const READY_TTL: Duration = Duration::from_secs(1);

impl UserService {
    pub fn new(repo: Repository, payments: Arc<dyn PaymentsGateway>) -> Self {
        Self {
            repo,
            payments,
            ready: tokio::sync::Mutex::new(None),
            schema_current: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Readiness: can we reach the database now, and does its schema have
    /// this release's migrations (a pod of a new release must not take traffic
    /// before the migration Job has run)? `/ready` is unauthenticated,
    /// so its callers share one probe per [`READY_TTL`]: concurrent callers
    /// wait for the one probe in flight instead of each starting their own.
    /// A cached "ready" stands only while no operation has since found the
    /// database unreachable, a cached "not ready" only while none has reached
    /// it: `/ready` follows the first failure, and the first recovery, at once.
    pub async fn check_ready(&self) -> Result<()> {
        let mut last = self.ready.lock().await;
        let (unreachable, reachable) = self.repo.reachability_seen();
        let fresh = last
            .as_ref()
            .filter(|probe| {
                probe.at.elapsed() < READY_TTL
                    && match probe.outcome {
                        Ok(()) => probe.seen.0 == unreachable,
                        Err(_) => probe.seen.1 == reachable,
                    }
            })
            .map(|probe| probe.outcome.clone());
        let outcome = match fresh {
            Some(outcome) => outcome,
            None => {
                let outcome = self.probe().await;
                *last = Some(ReadyProbe {
                    at: Instant::now(),
                    seen: self.repo.reachability_seen(),
                    outcome: outcome.clone(),
                });
                outcome
            }
        };
        outcome.map_err(|e| match e {
            NotReady::Unreachable(e) => ServiceError::Unavailable(e.into()),
            NotReady::SchemaBehind { database, release } => {
                ServiceError::SchemaBehind { database, release }
            }
        })
    }

    async fn probe(&self) -> std::result::Result<(), NotReady> {
        use std::sync::atomic::Ordering;
        let unreachable = |e: crate::db::DbError| NotReady::Unreachable(e.to_string());
        self.repo.ping().await.map_err(unreachable)?;
        if !self.schema_current.load(Ordering::Relaxed) {
            let database = self.repo.schema_version().await.map_err(unreachable)?;
            let release = crate::db::latest_version();
            if database < release {
                return Err(NotReady::SchemaBehind { database, release });
            }
            self.schema_current.store(true, Ordering::Relaxed);
        }
        Ok(())
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
        let (mut user, created) = match self.repo.upsert_profile(profile).await? {
            Upserted::Saved(user, created) => (user, created),
            Upserted::Deleted => return Err(ServiceError::UserDeleted),
            Upserted::NeedsEmail => return Err(ServiceError::EmailRequired),
        };
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
