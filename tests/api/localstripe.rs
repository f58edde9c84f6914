//! Stateful smoke test against localstripe (a Stripe API emulator, started by
//! scripts/test on loopback; `LOCALSTRIPE_URL`): the whole path customer →
//! card PaymentMethod → attach → default → retrieve → store, through our HTTP
//! API, and a declined card. localstripe has no Connect accounts and ignores
//! idempotency keys; those are covered by tests/stripe.rs.

use crate::common::{Options, TestApp, assert_error};
use serde_json::{Value, json};
use userlib::config::PaymentsSettings;

const KEY: &str = "sk_test_localstripe";

/// The emulator's URL; `None` (the test skips) when it is not running.
fn base() -> Option<String> {
    match std::env::var("LOCALSTRIPE_URL") {
        Ok(url) => Some(url),
        Err(_) => crate::common::skip("LOCALSTRIPE_URL is not set (no localstripe)"),
    }
}

/// Creates a card PaymentMethod the way Stripe.js would on the frontend.
async fn card_payment_method(http: &reqwest::Client, base: &str, number: &str) -> String {
    let pm: Value = http
        .post(format!("{base}/v1/payment_methods"))
        .basic_auth(KEY, Some(""))
        .form(&[
            ("type", "card"),
            ("card[number]", number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2031"),
            ("card[cvc]", "123"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    pm["id"].as_str().expect("a payment method id").to_owned()
}

#[tokio::test]
async fn customer_card_attach_default_retrieve_store_and_a_declined_card() {
    let Some(base) = base() else { return };
    let payments = userlib::payments::from_settings(&PaymentsSettings::stripe(KEY, &base)).unwrap();
    let app = TestApp::spawn_with(Options {
        payments,
        ..Default::default()
    })
    .await;
    let id = format!("user_ls{}", uuid::Uuid::new_v4().simple());

    let (status, body) = app
        .post_json(
            "/api/user/sync-from-frontend",
            &json!({"clerk_user_id": id, "email": format!("{id}@example.com"), "first_name": "Ada", "last_name": "L"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let customer = body["user"]["stripeCustomerId"]
        .as_str()
        .expect("customer created")
        .to_owned();
    assert!(customer.starts_with("cus_"));
    assert_eq!(
        body["user"]["stripeConnectAccountId"],
        json!(null),
        "localstripe has no Connect"
    );

    let pm = card_payment_method(&app.http, &base, "4242424242424242").await;
    let (status, body) = app
        .post_json(
            &format!("/api/user/{id}/payment-methods"),
            &json!({"payment_method_id": pm}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["payment_info"]["payment_method_id"], pm.as_str());
    assert_eq!(body["payment_info"]["brand"], "visa");
    assert_eq!(body["payment_info"]["last4"], "4242");
    assert_eq!(body["payment_info"]["exp_year"], 2031);

    // Stripe's side: attached to our customer and made its default.
    let stripe_customer: Value = app
        .http
        .get(format!("{base}/v1/customers/{customer}"))
        .basic_auth(KEY, Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stripe_customer["invoice_settings"]["default_payment_method"],
        pm.as_str()
    );
    assert_eq!(stripe_customer["metadata"]["clerk_user_id"], id.as_str());

    // Our side: GET payment shows it.
    let (status, body) = app.get(&format!("/api/user/{id}/payment")).await;
    assert_eq!(status, 200);
    assert_eq!(body["payment_info"]["last_four"], "4242");

    // A declined card: 400 with Stripe's message, the stored card unchanged.
    let before = app.snapshot().await;
    let declined = card_payment_method(&app.http, &base, "4000000000000002").await;
    let got = app
        .post_json(
            &format!("/api/user/{id}/payment-methods"),
            &json!({"payment_method_id": declined}),
        )
        .await;
    assert_error(&got, 400);
    assert_eq!(got.1["description"], got.1["message"]);
    assert_eq!(app.snapshot().await, before);
}
