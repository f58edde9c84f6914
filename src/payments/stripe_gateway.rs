//! The payments gateway over Stripe's API (async-stripe 1.0).
//!
//! Retries are ours, not the library's: its retrying strategies send no
//! idempotency key (without its `uuid` feature) and `Idempotent(key)` never
//! retries. Every state-changing call here carries a key, and a bounded loop with
//! exponential backoff retries 429, 5xx, network failures and "same key still in
//! progress" with that same key, so a retry can never create a second object.
//!
//! Errors are reduced to [`PaymentsError`] here. Stripe's text is only passed on
//! for card errors (it is written for the card holder); everything else becomes a
//! short log-only description. The secret key is never logged.
//!
//! A little over 350 lines: the six gateway calls and the one retry loop and
//! error classification they share read best side by side.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_connect::account::{
    CreateAccount, CreateAccountCapabilities, CreateAccountCapabilitiesCardPayments,
    CreateAccountCapabilitiesTransfers, CreateAccountType,
};
use stripe_core::customer::{
    CreateCustomer, ListCustomer, UpdateCustomer, UpdateCustomerInvoiceSettings,
};
use stripe_payment::payment_method::{AttachPaymentMethod, RetrievePaymentMethod};

use super::{
    NewAccountHolder, PaymentsError, PaymentsGateway, ProviderFailure, RetrievedPaymentMethod,
};
use crate::config::{ExposeSecret, PaymentsSettings, SecretString};
use crate::domain::{CardDetails, ClerkUserId, CustomerId, PaymentMethodId};

const FIRST_BACKOFF: Duration = Duration::from_millis(200);

pub struct StripeGateway {
    client: Client,
    connect_country: String,
    max_retries: u32,
}

impl StripeGateway {
    pub fn new(key: &SecretString, settings: &PaymentsSettings) -> Result<Self, PaymentsError> {
        let client = ClientBuilder::new(key.expose_secret())
            .url(settings.api_base.as_str())
            .timeout(settings.timeout)
            .build()
            .map_err(|e| {
                PaymentsError::Invalid(ProviderFailure(format!(
                    "building the Stripe client: {}",
                    describe(&e)
                )))
            })?;
        Ok(Self {
            client,
            connect_country: settings.connect_country.clone(),
            max_retries: settings.max_retries,
        })
    }

    /// Runs `call` (which builds and sends one request with the given strategy)
    /// until it succeeds, fails for good, or the retries are spent.
    async fn run<T, F, Fut>(
        &self,
        op: &'static str,
        key: Option<&str>,
        call: F,
    ) -> Result<T, Failure>
    where
        F: Fn(RequestStrategy) -> Fut,
        Fut: Future<Output = Result<T, StripeError>>,
    {
        let key = match key.map(IdempotencyKey::new).transpose() {
            Ok(key) => key,
            Err(_) => return Err(Failure::Other("idempotency key rejected".into())),
        };
        let mut attempt = 0;
        let started = std::time::Instant::now();
        let record = |outcome: &'static str| {
            metrics::histogram!(crate::metrics::STRIPE_DURATION, "op" => op, "outcome" => outcome)
                .record(started.elapsed().as_secs_f64());
        };
        loop {
            let strategy = match &key {
                Some(k) => RequestStrategy::Idempotent(k.clone()),
                None => RequestStrategy::Once,
            };
            let failure = match call(strategy).await {
                Ok(value) => {
                    record("ok");
                    return Ok(value);
                }
                Err(e) => Failure::from(&e),
            };
            if !failure.retryable() || attempt >= self.max_retries {
                tracing::warn!(op, attempts = attempt + 1, failure = ?failure, "Stripe call failed");
                record(failure.outcome());
                return Err(failure);
            }
            let backoff = FIRST_BACKOFF * 2u32.pow(attempt);
            tracing::debug!(op, attempt, ?backoff, failure = ?failure, "retrying Stripe call");
            tokio::time::sleep(backoff).await;
            attempt += 1;
        }
    }
}

/// What a failed Stripe call means for us.
#[derive(Debug)]
enum Failure {
    RateLimited,
    /// 5xx, network, timeout: the request may or may not have taken effect.
    Indeterminate(String),
    /// A concurrent request with the same idempotency key is still running.
    KeyInUse,
    /// A card error; the message is Stripe's text for the card holder.
    Card(String),
    /// No such object; `param` names which one when Stripe says.
    Missing(Option<String>),
    Other(String),
}

impl Failure {
    /// The metric label of this failure.
    fn outcome(&self) -> &'static str {
        match self {
            Failure::RateLimited => "rate_limited",
            Failure::Indeterminate(_) | Failure::KeyInUse => "unavailable",
            Failure::Card(_) => "card_error",
            Failure::Missing(_) => "not_found",
            Failure::Other(_) => "error",
        }
    }

    fn retryable(&self) -> bool {
        matches!(
            self,
            Failure::RateLimited | Failure::Indeterminate(_) | Failure::KeyInUse
        )
    }

    fn into_error(self) -> PaymentsError {
        match self {
            Failure::RateLimited => PaymentsError::RateLimited,
            Failure::Indeterminate(d) => PaymentsError::Unavailable(ProviderFailure(d)),
            Failure::KeyInUse => {
                PaymentsError::Unavailable(ProviderFailure("idempotency key still in use".into()))
            }
            Failure::Card(m) => PaymentsError::CardDeclined(m),
            Failure::Missing(param) => {
                PaymentsError::Invalid(ProviderFailure(format!("no such object ({param:?})")))
            }
            Failure::Other(d) => PaymentsError::Invalid(ProviderFailure(d)),
        }
    }
}

impl From<&StripeError> for Failure {
    fn from(e: &StripeError) -> Self {
        match e {
            StripeError::Stripe(api, status) => {
                let kind = api.type_.as_str();
                let code = api.code.as_ref().map(|c| c.as_str().to_owned());
                match (*status, kind) {
                    (429, _) => Failure::RateLimited,
                    (409, "idempotency_error") => Failure::KeyInUse,
                    (s, _) if s >= 500 => Failure::Indeterminate(format!("status {s}")),
                    (_, "card_error") | (402, _) => Failure::Card(
                        api.message
                            .clone()
                            .unwrap_or_else(|| "Your card was declined.".into()),
                    ),
                    (404, _) => Failure::Missing(api.param.clone()),
                    (_, _) if code.as_deref() == Some("resource_missing") => {
                        Failure::Missing(api.param.clone())
                    }
                    (s, k) => Failure::Other(format!("status {s}, type {k}, code {code:?}")),
                }
            }
            StripeError::ClientError(_) | StripeError::Timeout => {
                Failure::Indeterminate(describe(e))
            }
            StripeError::JSONDeserialize(_) | StripeError::ConfigError(_) => {
                Failure::Other(describe(e))
            }
        }
    }
}

/// A log-safe description of a Stripe error (no request data, no key).
fn describe(e: &StripeError) -> String {
    match e {
        StripeError::Stripe(api, status) => format!("status {status}, type {}", api.type_.as_str()),
        StripeError::JSONDeserialize(m) => format!("unexpected response shape: {m}"),
        StripeError::ClientError(m) => format!("network: {m}"),
        StripeError::ConfigError(m) => format!("configuration: {m}"),
        StripeError::Timeout => "timed out".into(),
    }
}

/// A key for a call that must not be repeated by a retry but has no lasting
/// identity of its own (attach, set default): fresh per request.
fn one_off_key(op: &str) -> String {
    format!("{op}:{}", uuid::Uuid::new_v4().simple())
}

fn metadata(holder: &NewAccountHolder<'_>, with_contact: bool) -> HashMap<String, String> {
    let mut m = HashMap::from([(
        "clerk_user_id".to_string(),
        holder.clerk_user_id.to_string(),
    )]);
    if with_contact {
        m.insert("email".into(), holder.email.into());
        m.insert("name".into(), holder.name.into());
    }
    m
}

#[async_trait]
impl PaymentsGateway for StripeGateway {
    fn is_configured(&self) -> bool {
        true
    }

    async fn create_customer(
        &self,
        holder: NewAccountHolder<'_>,
        idempotency_key: &str,
    ) -> Result<String, PaymentsError> {
        let mut request = CreateCustomer::new()
            .email(holder.email)
            .metadata(metadata(&holder, false));
        if !holder.name.is_empty() {
            request = request.name(holder.name);
        }
        self.run("create_customer", Some(idempotency_key), |s| {
            request.customize().request_strategy(s).send(&self.client)
        })
        .await
        .map(|c| c.id.to_string())
        .map_err(Failure::into_error)
    }

    async fn find_customer(
        &self,
        email: &str,
        clerk_user_id: &ClerkUserId,
    ) -> Result<Option<String>, PaymentsError> {
        let request = ListCustomer::new().email(email).limit(100);
        let list = self
            .run("list_customers", None, |s| {
                request.customize().request_strategy(s).send(&self.client)
            })
            .await
            .map_err(Failure::into_error)?;
        Ok(list
            .data
            .into_iter()
            .find(|c| {
                c.metadata
                    .as_ref()
                    .and_then(|m| m.get("clerk_user_id"))
                    .is_some_and(|v| v == clerk_user_id.as_str())
            })
            .map(|c| c.id.to_string()))
    }

    async fn create_connect_account(
        &self,
        holder: NewAccountHolder<'_>,
        idempotency_key: &str,
    ) -> Result<String, PaymentsError> {
        let mut card_payments = CreateAccountCapabilitiesCardPayments::new();
        card_payments.requested = Some(true);
        let mut transfers = CreateAccountCapabilitiesTransfers::new();
        transfers.requested = Some(true);
        let mut capabilities = CreateAccountCapabilities::new();
        capabilities.card_payments = Some(card_payments);
        capabilities.transfers = Some(transfers);
        let request = CreateAccount::new()
            .type_(CreateAccountType::Express)
            .country(self.connect_country.as_str())
            .email(holder.email)
            .capabilities(capabilities)
            .metadata(metadata(&holder, true));
        self.run("create_account", Some(idempotency_key), |s| {
            request.customize().request_strategy(s).send(&self.client)
        })
        .await
        .map(|a| a.id.to_string())
        .map_err(Failure::into_error)
    }

    async fn retrieve_payment_method(
        &self,
        id: &PaymentMethodId,
    ) -> Result<RetrievedPaymentMethod, PaymentsError> {
        let request = RetrievePaymentMethod::new(id.as_str());
        let pm = self
            .run("retrieve_payment_method", None, |s| {
                request.customize().request_strategy(s).send(&self.client)
            })
            .await
            .map_err(|f| match f {
                Failure::Missing(_) => PaymentsError::PaymentMethodNotFound,
                other => other.into_error(),
            })?;
        let card = pm.card.ok_or_else(|| {
            PaymentsError::CardDeclined("Only card payment methods are supported".into())
        })?;
        let card = CardDetails::new(
            id.clone(),
            &card.brand,
            &card.last4,
            card.exp_month,
            card.exp_year,
        )
        .map_err(|e| PaymentsError::Invalid(ProviderFailure(format!("card details: {e}"))))?;
        Ok(RetrievedPaymentMethod {
            card,
            customer: pm.customer.as_ref().map(|c| c.id().to_string()),
        })
    }

    async fn attach_payment_method(
        &self,
        id: &PaymentMethodId,
        customer_id: &CustomerId,
    ) -> Result<(), PaymentsError> {
        let request = AttachPaymentMethod::new(id.as_str()).customer(customer_id.as_str());
        let key = one_off_key("attach");
        self.run("attach_payment_method", Some(&key), |s| {
            request.customize().request_strategy(s).send(&self.client)
        })
        .await
        .map(drop)
        .map_err(|f| match f {
            Failure::Missing(param) if param.as_deref() != Some("customer") => {
                PaymentsError::PaymentMethodNotFound
            }
            other => other.into_error(),
        })
    }

    async fn set_default_payment_method(
        &self,
        customer_id: &CustomerId,
        id: &PaymentMethodId,
    ) -> Result<(), PaymentsError> {
        let mut settings = UpdateCustomerInvoiceSettings::new();
        settings.default_payment_method = Some(id.as_str().to_owned());
        let request = UpdateCustomer::new(customer_id.as_str()).invoice_settings(settings);
        let key = one_off_key("default_payment_method");
        self.run("set_default_payment_method", Some(&key), |s| {
            request.customize().request_strategy(s).send(&self.client)
        })
        .await
        .map(drop)
        .map_err(Failure::into_error)
    }
}
