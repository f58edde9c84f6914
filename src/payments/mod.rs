//! The payments boundary: what the use cases need from a payments provider
//! (Stripe), as a trait, so that the service layer never depends on an HTTP client
//! and tests can run without one.
//!
//! [`NotConfigured`] is the implementation used while no Stripe key is set: every
//! operation fails with [`PaymentsError::NotConfigured`], which the HTTP layer turns
//! into 503 "Payments are not configured" and the sync use case treats as "create
//! the user without Stripe ids", as the original service did. `stripe` is the
//! real implementation over async-stripe.

mod stripe_gateway;

pub use stripe_gateway::StripeGateway;

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::PaymentsSettings;
use crate::domain::{CardDetails, ClerkUserId, CustomerId, PaymentMethodId};

/// Failures of the payments provider, sorted by what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    #[error("payments are not configured")]
    NotConfigured,
    /// The card was refused; the text is the provider's message meant for the user.
    #[error("card declined: {0}")]
    CardDeclined(String),
    #[error("payment method not found")]
    PaymentMethodNotFound,
    #[error("payments provider rate-limited us")]
    RateLimited,
    /// Down, timed out, or 5xx after retries. For a creating call this
    /// outcome is indeterminate: the object may exist.
    #[error("payments provider unavailable: {0}")]
    Unavailable(#[source] ProviderFailure),
    /// The provider answered something we cannot use.
    #[error("unexpected answer from payments provider: {0}")]
    Invalid(#[source] ProviderFailure),
}

/// What went wrong at the provider, for the logs: a description built from
/// the provider's error without its request data or our key (the provider's
/// own error value can carry both, so it is deliberately not kept).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProviderFailure(pub String);

/// A PaymentMethod as the provider describes it.
#[derive(Debug, Clone)]
pub struct RetrievedPaymentMethod {
    pub card: CardDetails,
    /// The customer it is attached to (`cus_…`), if any.
    pub customer: Option<String>,
}

/// A customer or Connect account to create for one of our users.
#[derive(Debug, Clone, Copy)]
pub struct NewAccountHolder<'a> {
    pub clerk_user_id: &'a ClerkUserId,
    pub email: &'a str,
    pub name: &'a str,
}

#[async_trait]
pub trait PaymentsGateway: Send + Sync + 'static {
    /// `false` for [`NotConfigured`]: callers skip optional provisioning.
    fn is_configured(&self) -> bool;

    /// Creates a customer (metadata `clerk_user_id`); returns its id (`cus_…`).
    /// The same `idempotency_key` never creates a second one.
    async fn create_customer(
        &self,
        holder: NewAccountHolder<'_>,
        idempotency_key: &str,
    ) -> Result<String, PaymentsError>;

    /// A customer with this email whose metadata names this user, if any (to
    /// adopt what an indeterminate creation may have made).
    async fn find_customer(
        &self,
        email: &str,
        clerk_user_id: &ClerkUserId,
    ) -> Result<Option<String>, PaymentsError>;

    /// Creates an Express Connect account; returns its id (`acct_…`).
    async fn create_connect_account(
        &self,
        holder: NewAccountHolder<'_>,
        idempotency_key: &str,
    ) -> Result<String, PaymentsError>;

    /// The card details of a PaymentMethod, and whose it is.
    async fn retrieve_payment_method(
        &self,
        id: &PaymentMethodId,
    ) -> Result<RetrievedPaymentMethod, PaymentsError>;

    /// Attaches a PaymentMethod to a customer.
    async fn attach_payment_method(
        &self,
        id: &PaymentMethodId,
        customer_id: &CustomerId,
    ) -> Result<(), PaymentsError>;

    /// Makes a PaymentMethod the customer's default for invoices and charges.
    async fn set_default_payment_method(
        &self,
        customer_id: &CustomerId,
        id: &PaymentMethodId,
    ) -> Result<(), PaymentsError>;
}

/// Payments while no provider is configured.
#[derive(Debug, Default, Clone, Copy)]
pub struct NotConfigured;

#[async_trait]
impl PaymentsGateway for NotConfigured {
    fn is_configured(&self) -> bool {
        false
    }
    async fn create_customer(
        &self,
        _: NewAccountHolder<'_>,
        _: &str,
    ) -> Result<String, PaymentsError> {
        Err(PaymentsError::NotConfigured)
    }
    async fn find_customer(
        &self,
        _: &str,
        _: &ClerkUserId,
    ) -> Result<Option<String>, PaymentsError> {
        Err(PaymentsError::NotConfigured)
    }
    async fn create_connect_account(
        &self,
        _: NewAccountHolder<'_>,
        _: &str,
    ) -> Result<String, PaymentsError> {
        Err(PaymentsError::NotConfigured)
    }
    async fn retrieve_payment_method(
        &self,
        _: &PaymentMethodId,
    ) -> Result<RetrievedPaymentMethod, PaymentsError> {
        Err(PaymentsError::NotConfigured)
    }
    async fn attach_payment_method(
        &self,
        _: &PaymentMethodId,
        _: &CustomerId,
    ) -> Result<(), PaymentsError> {
        Err(PaymentsError::NotConfigured)
    }
    async fn set_default_payment_method(
        &self,
        _: &CustomerId,
        _: &PaymentMethodId,
    ) -> Result<(), PaymentsError> {
        Err(PaymentsError::NotConfigured)
    }
}

/// The gateway the settings ask for: Stripe when a secret key is set.
pub fn from_settings(
    settings: &PaymentsSettings,
) -> Result<Arc<dyn PaymentsGateway>, PaymentsError> {
    Ok(match &settings.stripe_secret_key {
        Some(key) => Arc::new(StripeGateway::new(key, settings)?),
        None => {
            tracing::info!("STRIPE_SECRET_KEY is not set: payments are not configured");
            Arc::new(NotConfigured)
        }
    })
}
