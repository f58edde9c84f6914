//! The Stripe layer against a double that speaks Stripe's HTTP API: provisioning
//! on sync (metadata, idempotency keys, no duplicates under retries, crashes and
//! concurrency), failures that never lose the user nor change stored data, and
//! nothing made for a deleted user or from a malformed stored id. The
//! payment-method routes are `payment_methods.rs`.

use std::time::Duration;

use crate::common::stripe::{SECRET, StripeDouble, error, fixture, form, idempotency_key};
use crate::common::{Options, TestApp, assert_error};
use serde_json::{Value, json};
use userlib::config::PaymentsSettings;
use wiremock::Mock;
use wiremock::matchers::{method, path};

pub(crate) async fn app_with(double: &StripeDouble) -> TestApp {
    let payments =
        userlib::payments::from_settings(&PaymentsSettings::stripe(SECRET, &double.server.uri()))
            .unwrap();
    TestApp::spawn_with(Options {
        payments,
        ..Default::default()
    })
    .await
}

fn sync_body(id: &str) -> Value {
    json!({"clerk_user_id": id, "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
           "phone_number": "", "username": null})
}

async fn sync(app: &TestApp, id: &str) -> Value {
    let (status, body) = app
        .post_json("/api/user/sync-from-frontend", &sync_body(id))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn new_user_sync_creates_customer_and_account_with_metadata_and_keys() {
    let double = StripeDouble::start().await;
    double.mount_creations().await;
    let app = app_with(&double).await;

    let body = sync(&app, "user_ada").await;
    assert_eq!(body["user"]["stripeCustomerId"], "cus_1");
    assert_eq!(body["user"]["stripeConnectAccountId"], "acct_1");
    let row = app.row("user_ada").await.unwrap();
    assert_eq!(
        (
            row["stripe_customer_id"].as_str(),
            row["stripe_connect_account_id"].as_str()
        ),
        (Some("cus_1"), Some("acct_1"))
    );

    let customers = double.requests("POST", "/v1/customers").await;
    assert_eq!(customers.len(), 1);
    assert_eq!(
        idempotency_key(&customers[0]).as_deref(),
        Some("customer:user_ada")
    );
    let f = form(&customers[0]);
    assert_eq!(f["email"], "ada@example.com");
    assert_eq!(f["name"], "Ada Lovelace");
    assert_eq!(f["metadata[clerk_user_id]"], "user_ada");
    assert_eq!(
        customers[0]
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap(),
        format!("Bearer {SECRET}")
    );

    let accounts = double.requests("POST", "/v1/accounts").await;
    assert_eq!(accounts.len(), 1);
    assert_eq!(
        idempotency_key(&accounts[0]).as_deref(),
        Some("account:user_ada")
    );
    let f = form(&accounts[0]);
    assert_eq!(f["type"], "express");
    assert_eq!(f["country"], "SG");
    assert_eq!(f["email"], "ada@example.com");
    assert_eq!(f["capabilities[card_payments][requested]"], "true");
    assert_eq!(f["capabilities[transfers][requested]"], "true");
    assert_eq!(f["metadata[clerk_user_id]"], "user_ada");
    assert_eq!(f["metadata[email]"], "ada@example.com");
    assert_eq!(f["metadata[name]"], "Ada Lovelace");

    // A later sync of the same user calls Stripe no more.
    sync(&app, "user_ada").await;
    assert_eq!(double.requests("POST", "/v1/customers").await.len(), 1);
    assert_eq!(double.requests("POST", "/v1/accounts").await.len(), 1);
}

#[tokio::test]
async fn a_sync_retried_after_a_crash_between_stripe_and_our_update_creates_nothing_new() {
    let double = StripeDouble::start().await;
    double.mount_creations().await;
    let app = app_with(&double).await;
    sync(&app, "user_ada").await;
    // The crash: Stripe created both, our UPDATE never happened (keys were saved first).
    app.db
        .execute(
            "UPDATE users SET stripe_customer_id = NULL, stripe_connect_account_id = NULL \
             WHERE clerk_user_id = 'user_ada'",
        )
        .await;

    let body = sync(&app, "user_ada").await;
    assert_eq!(
        body["user"]["stripeCustomerId"], "cus_1",
        "the same customer, replayed by key"
    );
    assert_eq!(body["user"]["stripeConnectAccountId"], "acct_1");
    assert_eq!((double.customers.count(), double.accounts.count()), (1, 1));
    let keys: Vec<_> = double
        .requests("POST", "/v1/customers")
        .await
        .iter()
        .map(idempotency_key)
        .collect();
    assert_eq!(
        keys,
        [
            Some("customer:user_ada".into()),
            Some("customer:user_ada".into())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_syncs_make_one_customer_and_one_account() {
    let double = StripeDouble::start_with_delay(Duration::from_millis(300)).await;
    double.mount_creations().await;
    let app = app_with(&double).await;
    let body = sync_body("user_ada");
    let (a, b) = tokio::join!(
        app.post_json("/api/user/sync-from-frontend", &body),
        app.post_json("/api/user/sync-from-frontend", &body)
    );
    assert_eq!((a.0, b.0), (200, 200));
    assert_eq!((double.customers.count(), double.accounts.count()), (1, 1));
    assert_eq!(
        a.1["user"]["stripeCustomerId"],
        b.1["user"]["stripeCustomerId"]
    );
    assert_eq!(
        a.1["user"]["stripeConnectAccountId"],
        b.1["user"]["stripeConnectAccountId"]
    );
    assert_eq!(app.count_users().await, 1);
}

#[tokio::test]
async fn stripe_down_during_sync_keeps_the_user_and_the_next_payment_method_add_creates_the_customer()
 {
    let double = StripeDouble::start().await;
    // Down: every creation answers 500 (the client retries twice, so 3 attempts each).
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(error(500, "error_api"))
        .up_to_n_times(3)
        .expect(3)
        .with_priority(1)
        .mount(&double.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/accounts"))
        .respond_with(error(500, "error_api"))
        .up_to_n_times(3)
        .expect(3)
        .with_priority(1)
        .mount(&double.server)
        .await;
    double.mount_creations().await;
    let app = app_with(&double).await;

    let body = sync(&app, "user_ada").await;
    assert_eq!(body["success"], true);
    assert_eq!(body["user"]["stripeCustomerId"], json!(null));
    assert_eq!(body["user"]["stripeConnectAccountId"], json!(null));
    let row = app.row("user_ada").await.unwrap();
    assert_eq!(
        row["stripe_customer_uncertain"], true,
        "the indeterminate attempt is remembered"
    );
    assert_eq!(
        row["stripe_customer_idem_key"],
        json!(null),
        "its key, which Stripe would replay, is released"
    );

    // Stripe is back. The search finds nothing the failed attempt made, so the
    // customer is created lazily, with a fresh key.
    double.mount_customer_search(vec![]).await;
    double.mount_payment_method("pm_card_visa").await;
    let (status, body) = app
        .post_json(
            "/api/user/user_ada/payment-methods",
            &json!({"payment_method_id": "pm_card_visa"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["payment_info"]["last4"], "4242");
    let creates = double.requests("POST", "/v1/customers").await;
    assert_eq!(creates.len(), 4);
    let fresh = idempotency_key(&creates[3]).unwrap();
    assert!(
        fresh.starts_with("customer:user_ada:") && fresh.len() > "customer:user_ada:".len(),
        "{fresh}"
    );
    assert_eq!(double.customers.count(), 1);
    let row = app.row("user_ada").await.unwrap();
    assert_eq!(row["stripe_customer_id"], "cus_1");
    assert_eq!(row["card_payment_method_id"], "pm_card_visa");

    // The next sync creates the missing Connect account.
    let body = sync(&app, "user_ada").await;
    assert_eq!(body["user"]["stripeConnectAccountId"], "acct_1");
}

#[tokio::test]
async fn an_object_created_by_an_indeterminate_attempt_is_adopted_not_duplicated() {
    let double = StripeDouble::start().await;
    let app = app_with(&double).await;
    app.sync_user("user_ada", "ada@example.com").await; // payments double not mounted: nothing created yet
    // An earlier attempt timed out after Stripe had created the customer.
    app.db
        .execute(
            "UPDATE users SET stripe_customer_uncertain = true, stripe_customer_id = NULL \
             WHERE clerk_user_id = 'user_ada'",
        )
        .await;
    let mut someone_else = fixture("customer");
    someone_else["id"] = json!("cus_other");
    someone_else["metadata"] = json!({"clerk_user_id": "user_other"});
    let mut ours = fixture("customer");
    ours["id"] = json!("cus_made_earlier");
    double.mount_customer_search(vec![someone_else, ours]).await;
    double.mount_creations().await;
    double.mount_payment_method("pm_card_visa").await;

    let (status, body) = app
        .post_json(
            "/api/user/user_ada/payment-methods",
            &json!({"payment_method_id": "pm_card_visa"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(double.customers.count(), 0, "nothing new created");
    assert_eq!(
        app.row("user_ada").await.unwrap()["stripe_customer_id"],
        "cus_made_earlier"
    );
    let attach = double
        .requests("POST", "/v1/payment_methods/pm_card_visa/attach")
        .await;
    assert_eq!(form(&attach[0])["customer"], "cus_made_earlier");
}

/// A user deleted in Clerk is not synced back, so nothing is provisioned for
/// them in Stripe either.
#[tokio::test]
async fn a_deleted_users_sync_creates_nothing_in_stripe() {
    let double = StripeDouble::start().await;
    double.mount_creations().await;
    let app = app_with(&double).await;
    app.db
        .execute("INSERT INTO deleted_users (clerk_user_id, deleted_at) VALUES ('user_ada', now())")
        .await;
    let got = app
        .post_json("/api/user/sync-from-frontend", &sync_body("user_ada"))
        .await;
    assert_error(&got, 410);
    assert!(app.row("user_ada").await.is_none());
    assert_eq!(double.requests("POST", "/v1/customers").await.len(), 0);
    assert_eq!(double.requests("POST", "/v1/accounts").await.len(), 0);
}

/// A stored customer id that is not `cus_…` (a bad legacy row written before
/// the importer checked them) never becomes a Stripe URL path.
#[tokio::test]
async fn a_malformed_stored_customer_id_never_reaches_stripe() {
    let double = StripeDouble::start().await;
    double.mount_payment_method("pm_card_visa").await;
    let app = app_with(&double).await;
    app.sync_user("user_ada", "ada@example.com").await;
    app.db
        .execute(
            "UPDATE users SET stripe_customer_id = 'cus_x/../../accounts/acct_victim' \
             WHERE clerk_user_id = 'user_ada'",
        )
        .await;
    let (status, _) = app
        .post_json(
            "/user/user_ada/payment-methods",
            &json!({"payment_method_id": "pm_card_visa"}),
        )
        .await;
    assert_ne!(status, 200);
    let sent: Vec<String> = double
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert!(
        sent.iter()
            .all(|p| !p.contains("cus_x") && !p.contains("acct_victim")),
        "{sent:?}"
    );
}
