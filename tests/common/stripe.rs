//! A Stripe double that speaks Stripe's HTTP API (wiremock), with Stripe's
//! idempotency behaviour for creations: the same `Idempotency-Key` replays the
//! first result instead of creating another object.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const SECRET: &str = "sk_test_51SeCrEtKeyThatMustNeverLeak";

pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/stripe/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Creates objects (`cus_1`, `cus_2`, …), replaying by idempotency key.
#[derive(Clone)]
pub struct Creations {
    prefix: &'static str,
    fixture: Value,
    by_key: Arc<Mutex<HashMap<String, String>>>,
    created: Arc<AtomicUsize>,
    delay: Duration,
}

impl Creations {
    fn new(prefix: &'static str, fixture: Value, delay: Duration) -> Self {
        Self {
            prefix,
            fixture,
            by_key: Default::default(),
            created: Default::default(),
            delay,
        }
    }

    /// How many distinct objects were created.
    pub fn count(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }

    /// Pretends an object was already created for `key` (an earlier attempt).
    pub fn preexisting(&self, key: &str) -> String {
        let n = self.created.fetch_add(1, Ordering::SeqCst) + 1;
        let id = format!("{}_{n}", self.prefix);
        self.by_key.lock().unwrap().insert(key.into(), id.clone());
        id
    }
}

impl Respond for Creations {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = request
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let id = {
            let mut by_key = self.by_key.lock().unwrap();
            by_key
                .entry(key)
                .or_insert_with(|| {
                    let n = self.created.fetch_add(1, Ordering::SeqCst) + 1;
                    format!("{}_{n}", self.prefix)
                })
                .clone()
        };
        let mut body = self.fixture.clone();
        body["id"] = Value::String(id);
        ResponseTemplate::new(200)
            .set_body_json(body)
            .set_delay(self.delay)
    }
}

pub struct StripeDouble {
    pub server: MockServer,
    pub customers: Creations,
    pub accounts: Creations,
}

impl StripeDouble {
    /// A double with nothing mounted yet.
    pub async fn start() -> Self {
        Self::start_with_delay(Duration::ZERO).await
    }

    pub async fn start_with_delay(delay: Duration) -> Self {
        Self {
            server: MockServer::start().await,
            customers: Creations::new("cus", fixture("customer"), delay),
            accounts: Creations::new("acct", fixture("account"), delay),
        }
    }

    pub async fn mount_creations(&self) {
        Mock::given(method("POST"))
            .and(path("/v1/customers"))
            .respond_with(self.customers.clone())
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/accounts"))
            .respond_with(self.accounts.clone())
            .mount(&self.server)
            .await;
    }

    /// Retrieve, attach and set-as-default succeed for `pm`.
    pub async fn mount_payment_method(&self, pm: &str) {
        let mut body = fixture("payment_method");
        body["id"] = Value::String(pm.into());
        Mock::given(method("GET"))
            .and(path(format!("/v1/payment_methods/{pm}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body.clone()))
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/v1/payment_methods/{pm}/attach")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/v1/customers/cus_[A-Za-z0-9_]+$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(fixture("customer")))
            .mount(&self.server)
            .await;
    }

    /// `GET /v1/customers?email=…` answers with these customers.
    pub async fn mount_customer_search(&self, customers: Vec<Value>) {
        Mock::given(method("GET"))
            .and(path("/v1/customers"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "object": "list", "data": customers, "has_more": false, "url": "/v1/customers"
            })))
            .mount(&self.server)
            .await;
    }

    /// Requests received for `method path`.
    pub async fn requests(&self, m: &str, p: &str) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == m && r.url.path() == p)
            .collect()
    }
}

/// An error answer in Stripe's shape.
pub fn error(status: u16, fixture_name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(fixture(fixture_name))
}

/// The form fields of a request body.
pub fn form(request: &Request) -> HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(&request.body)
        .unwrap()
        .into_iter()
        .collect()
}

pub fn idempotency_key(request: &Request) -> Option<String> {
    request
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
