//! The payment-method routes against the Stripe double: adding a card
//! (attach, default, store), storing one by id, and every error class leaving
//! the stored card as it was; ids checked before any Stripe call; another
//! customer's payment method refused.

use crate::common::stripe::{SECRET, StripeDouble, error, fixture, form, idempotency_key};
use crate::common::{TestApp, assert_error};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use super::stripe::app_with;

/// A user who already has a customer and a card, for the error classes.
async fn user_with_customer_and_card(app: &TestApp) -> Value {
    app.sync_user("user_ada", "ada@example.com").await;
    app.store_card("user_ada", "pm_before").await;
    app.db
        .execute(
            "UPDATE users SET stripe_customer_id = 'cus_existing' WHERE clerk_user_id = 'user_ada'",
        )
        .await;
    app.snapshot().await
}

#[tokio::test]
async fn add_payment_method_attaches_sets_default_and_stores_the_card() {
    let double = StripeDouble::start().await;
    double.mount_payment_method("pm_card_visa").await;
    let app = app_with(&double).await;
    user_with_customer_and_card(&app).await;

    let (status, body) = app
        .post_json(
            "/user/user_ada/payment-methods",
            &json!({"payment_method_id": "pm_card_visa"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["message"].as_str(), body["description"].as_str()),
        (
            Some("Payment method added successfully"),
            Some("Payment method added successfully")
        ),
        "the original's `description`, beside `message`"
    );
    let info = &body["payment_info"];
    assert_eq!(
        (
            info["payment_method_id"].as_str(),
            info["brand"].as_str(),
            info["last4"].as_str()
        ),
        (Some("pm_card_visa"), Some("visa"), Some("4242"))
    );
    assert_eq!(
        (info["exp_month"].as_i64(), info["exp_year"].as_i64()),
        (Some(8), Some(2031))
    );

    let attach = double
        .requests("POST", "/v1/payment_methods/pm_card_visa/attach")
        .await;
    assert_eq!(form(&attach[0])["customer"], "cus_existing");
    assert!(idempotency_key(&attach[0]).unwrap().starts_with("attach:"));
    let update = double.requests("POST", "/v1/customers/cus_existing").await;
    assert_eq!(
        form(&update[0])["invoice_settings[default_payment_method]"],
        "pm_card_visa"
    );
    assert!(idempotency_key(&update[0]).is_some());
    let row = app.row("user_ada").await.unwrap();
    assert_eq!(
        (
            row["card_payment_method_id"].as_str(),
            row["card_exp_year"].as_i64()
        ),
        (Some("pm_card_visa"), Some(2031))
    );
}

#[tokio::test]
async fn add_payment_method_error_classes_change_nothing() {
    let cases: [(&str, ResponseTemplate, u64, u16, Option<&str>); 4] = [
        (
            "declined",
            error(402, "error_card_declined"),
            1,
            400,
            Some("Your card was declined."),
        ),
        (
            "missing",
            error(404, "error_resource_missing"),
            1,
            400,
            Some("Payment method not found"),
        ),
        ("down", error(500, "error_api"), 3, 502, None),
        ("busy", error(429, "error_rate_limit"), 3, 503, None),
    ];
    for (name, answer, attempts, status, message) in cases {
        let double = StripeDouble::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/payment_methods/pm_card_visa/attach"))
            .respond_with(answer)
            .expect(attempts)
            .mount(&double.server)
            .await;
        let app = app_with(&double).await;
        let before = user_with_customer_and_card(&app).await;
        let got = app
            .post_json(
                "/api/user/user_ada/payment-methods",
                &json!({"payment_method_id": "pm_card_visa"}),
            )
            .await;
        assert_error(&got, status);
        assert_eq!(got.1["description"], got.1["message"], "{name}");
        if let Some(m) = message {
            assert_eq!(got.1["message"], m, "{name}");
        }
        let text = got.1.to_string();
        assert!(
            !text.contains("internal-trace-id") && !text.contains(SECRET),
            "{name}: {text}"
        );
        assert_eq!(
            app.snapshot().await,
            before,
            "{name}: stored data unchanged"
        );
        double.server.verify().await;
    }
}

#[tokio::test]
async fn put_payment_stores_the_retrieved_card_and_failures_leave_it() {
    let double = StripeDouble::start().await;
    double.mount_payment_method("pm_card_visa").await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_methods/pm_missing"))
        .respond_with(error(404, "error_resource_missing"))
        .expect(1)
        .mount(&double.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_methods/pm_flaky"))
        .respond_with(error(503, "error_api"))
        .expect(3)
        .mount(&double.server)
        .await;
    let app = app_with(&double).await;
    let before = user_with_customer_and_card(&app).await;

    let got = app
        .put_json(
            "/user/user_ada/payment",
            &json!({"paymentMethodId": "pm_missing"}),
        )
        .await;
    assert_error(&got, 400);
    assert_eq!(got.1["message"], "Payment method not found");
    let got = app
        .put_json(
            "/user/user_ada/payment",
            &json!({"paymentMethodId": "pm_flaky"}),
        )
        .await;
    assert_error(&got, 502);
    assert_eq!(
        app.snapshot().await,
        before,
        "no invented card, nothing changed"
    );

    let (status, body) = app
        .put_json(
            "/user/user_ada/payment",
            &json!({"paymentMethodId": "pm_card_visa"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["payment_info"],
        json!({"payment_method_id": "pm_card_visa", "last_four": "4242", "card_type": "visa",
               "expiry_month": 8, "expiry_year": 2031})
    );
    double.server.verify().await;
}

#[tokio::test]
async fn payment_routes_validate_ids_before_calling_stripe() {
    let double = StripeDouble::start().await;
    let app = app_with(&double).await;
    app.sync_user("user_ada", "ada@example.com").await;
    let before = double.server.received_requests().await.unwrap().len();
    assert_error(
        &app.put_json(
            "/user/user_ada/payment",
            &json!({"paymentMethodId": "card_123"}),
        )
        .await,
        400,
    );
    assert_error(
        &app.post_json(
            "/user/user_ada/payment-methods",
            &json!({"payment_method_id": "pm_bad id"}),
        )
        .await,
        400,
    );
    assert_eq!(
        double.server.received_requests().await.unwrap().len(),
        before,
        "no Stripe call"
    );
}

/// `PUT …/payment` with a PaymentMethod of another Stripe customer would hand the
/// orchestrators the user's customer with someone else's card: refused, nothing
/// stored, nothing attached. The user's own is stored as it is; an unattached
/// one is attached to the user's customer first.
#[tokio::test]
async fn put_payment_refuses_another_customers_payment_method() {
    let double = StripeDouble::start().await;
    double.mount_payment_method("pm_card_visa").await; // unattached
    for (pm, owner) in [
        ("pm_foreign", "cus_someone_else"),
        ("pm_mine", "cus_existing"),
    ] {
        let mut body = fixture("payment_method");
        body["id"] = json!(pm);
        body["customer"] = json!(owner);
        Mock::given(method("GET"))
            .and(path(format!("/v1/payment_methods/{pm}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&double.server)
            .await;
    }
    let app = app_with(&double).await;
    let before = user_with_customer_and_card(&app).await;

    let got = app
        .put_json(
            "/api/user/user_ada/payment",
            &json!({"paymentMethodId": "pm_foreign"}),
        )
        .await;
    assert_error(&got, 400);
    assert_eq!(
        got.1["message"],
        "Payment method does not belong to this user"
    );
    assert_eq!(app.snapshot().await, before, "nothing stored");

    let (status, body) = app
        .put_json(
            "/api/user/user_ada/payment",
            &json!({"paymentMethodId": "pm_mine"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.row("user_ada").await.unwrap()["card_payment_method_id"],
        "pm_mine"
    );

    let (status, body) = app
        .put_json(
            "/api/user/user_ada/payment",
            &json!({"paymentMethodId": "pm_card_visa"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let attach = double
        .requests("POST", "/v1/payment_methods/pm_card_visa/attach")
        .await;
    assert_eq!(attach.len(), 1, "the unattached one was attached first");
    assert_eq!(form(&attach[0])["customer"], "cus_existing");
    for pm in ["pm_foreign", "pm_mine"] {
        let attached = double
            .requests("POST", &format!("/v1/payment_methods/{pm}/attach"))
            .await;
        assert!(attached.is_empty(), "{pm} was not attached anywhere");
    }
}
