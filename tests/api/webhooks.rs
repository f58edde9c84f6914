//! Signed webhooks: Clerk (Svix signatures) and Stripe (`Stripe-Signature`):
//! valid, bad signature, stale timestamp, replay, and each event's effect.

use crate::common::clerk::{self, STRIPE_WEBHOOK_SECRET, svix_signature};
use crate::common::stripe::fixture;
use crate::common::{Options, TestApp, assert_error};
use serde_json::{Value, json};

async fn app() -> TestApp {
    let jwks = clerk::jwks_server().await;
    TestApp::spawn_with(Options {
        env: clerk::env(&jwks),
        ..Default::default()
    })
    .await
}

async fn clerk_post(
    app: &TestApp,
    id: &str,
    ts: i64,
    body: &str,
    signature: Option<String>,
) -> (u16, Value) {
    let resp = app
        .http
        .post(app.url("/api/webhooks/clerk"))
        .header("content-type", "application/json")
        .header("svix-id", id)
        .header("svix-timestamp", ts.to_string())
        .header(
            "svix-signature",
            signature.unwrap_or_else(|| svix_signature(id, ts, body)),
        )
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn user_event(kind: &str, email: &str, first: &str) -> String {
    json!({"type": kind, "object": "event", "data": {
        "id": "user_hook", "username": "hooky", "first_name": first, "last_name": "Hook",
        "email_addresses": [{"id": "idn_old", "email_address": "old@example.com"},
                            {"id": "idn_new", "email_address": email}],
        "primary_email_address_id": "idn_new",
        "phone_numbers": [{"id": "idn_p", "phone_number": "+6591234567"}],
        "primary_phone_number_id": "idn_p"}})
    .to_string()
}

#[tokio::test]
async fn clerk_user_events_upsert_and_delete_once_each() {
    let app = app().await;
    let now = clerk::now();

    let created = user_event("user.created", "hook@example.com", "Hanna");
    let (status, body) = clerk_post(&app, "msg_1", now, &created, None).await;
    assert_eq!((status, &body["applied"]), (200, &json!(true)), "{body}");
    let row = app.row("user_hook").await.expect("created");
    assert_eq!(
        row["email"], "hook@example.com",
        "the primary address, by id"
    );
    assert_eq!(row["phone_number"], "+6591234567");
    assert_eq!(
        (row["first_name"].as_str(), row["username"].as_str()),
        (Some("Hanna"), Some("hooky"))
    );

    let updated = user_event("user.updated", "new@example.com", "Hana");
    let (status, _) = clerk_post(&app, "msg_2", now, &updated, None).await;
    assert_eq!(status, 200);
    assert_eq!(app.row("user_hook").await.unwrap()["first_name"], "Hana");

    // A replay of msg_1 is acknowledged and not applied (it would undo msg_2).
    let (status, body) = clerk_post(&app, "msg_1", now, &created, None).await;
    assert_eq!((status, &body["applied"]), (200, &json!(false)));
    assert_eq!(app.row("user_hook").await.unwrap()["first_name"], "Hana");

    let deleted =
        json!({"type": "user.deleted", "data": {"id": "user_hook", "deleted": true}}).to_string();
    let (status, body) = clerk_post(&app, "msg_3", now, &deleted, None).await;
    assert_eq!((status, &body["applied"]), (200, &json!(true)));
    assert!(app.row("user_hook").await.is_none());
    // The user directory's outbox (sql/V5) has each change, in order, and the
    // deletion as a tombstone; the replay changed nothing and added nothing.
    let events: Vec<(String, Option<String>, bool)> = app
        .db
        .client()
        .await
        .query(
            "SELECT clerk_user_id, first_name, deleted FROM user_directory_outbox ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let hook =
        |first: Option<&str>, deleted| ("user_hook".to_owned(), first.map(str::to_owned), deleted);
    assert_eq!(
        events,
        [
            hook(Some("Hanna"), false),
            hook(Some("Hana"), false),
            hook(None, true)
        ]
    );

    let other = json!({"type": "session.created", "data": {"id": "sess_1"}}).to_string();
    let (status, body) = clerk_post(&app, "msg_4", now, &other, None).await;
    assert_eq!((status, &body["applied"]), (200, &json!(false)));
}

#[tokio::test]
async fn clerk_webhooks_with_bad_signatures_or_stale_timestamps_are_refused() {
    let app = app().await;
    let now = clerk::now();
    let body = user_event("user.created", "hook@example.com", "Hanna");
    let cases = [
        (
            "wrong signature",
            now,
            Some("v1,c2lnbmF0dXJl".to_string()),
            body.clone(),
        ),
        (
            "signature of another body",
            now,
            Some(svix_signature("msg_x", now, "{}")),
            body.clone(),
        ),
        (
            "five minutes and more in the past",
            now - 301,
            None,
            body.clone(),
        ),
        // Well past the bound: the server reads its clock later than `now`
        // (a slow CI machine took over a second between the two once).
        ("in the future", now + 330, None, body.clone()),
    ];
    for (what, ts, sig, body) in cases {
        let got = clerk_post(&app, "msg_x", ts, &body, sig).await;
        assert_error(&got, 400);
        assert_eq!(got.1["message"], "Invalid webhook signature", "{what}");
    }
    let resp = app
        .http
        .post(app.url("/webhooks/clerk"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "no Svix headers");
    assert!(app.row("user_hook").await.is_none(), "nothing applied");
}

fn stripe_event(id: &str, kind: &str, object: Value) -> String {
    json!({"id": id, "object": "event", "api_version": "2024-06-20", "created": clerk::now(), "livemode": false,
           "pending_webhooks": 1, "request": {"id": null, "idempotency_key": null}, "type": kind,
           "data": {"object": object}})
    .to_string()
}

async fn stripe_post(app: &TestApp, body: &str, ts: Option<i64>, secret: &str) -> (u16, Value) {
    let signature = stripe_webhook::Webhook::generate_test_header(body, secret, ts);
    let resp = app
        .http
        .post(app.url("/webhooks/stripe"))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn stripe_events_clear_detached_cards_and_deleted_customers_once() {
    let app = app().await;
    app.db.insert_paid_user("user_card").await; // cus_card, pm_card
    app.db.insert_paid_user("user_keep").await; // cus_keep, pm_keep

    let mut pm = fixture("payment_method");
    pm["id"] = json!("pm_card");
    let detached = stripe_event("evt_1", "payment_method.detached", pm);
    let (status, body) = stripe_post(&app, &detached, None, STRIPE_WEBHOOK_SECRET).await;
    assert_eq!((status, &body["applied"]), (200, &json!(true)), "{body}");
    assert_eq!(
        app.row("user_card").await.unwrap()["card_payment_method_id"],
        json!(null)
    );
    assert_eq!(
        app.row("user_keep").await.unwrap()["card_payment_method_id"],
        "pm_keep"
    );

    // A card stored again, then evt_1 replayed: not applied twice.
    app.store_card("user_card", "pm_card").await;
    let (status, body) = stripe_post(&app, &detached, None, STRIPE_WEBHOOK_SECRET).await;
    assert_eq!((status, &body["applied"]), (200, &json!(false)));
    assert_eq!(
        app.row("user_card").await.unwrap()["card_payment_method_id"],
        "pm_card"
    );

    let mut customer = fixture("customer");
    customer["id"] = json!("cus_keep");
    let (status, _) = stripe_post(
        &app,
        &stripe_event("evt_2", "customer.deleted", customer),
        None,
        STRIPE_WEBHOOK_SECRET,
    )
    .await;
    assert_eq!(status, 200);
    let row = app.row("user_keep").await.unwrap();
    assert_eq!(
        (
            row["stripe_customer_id"].clone(),
            row["card_payment_method_id"].clone()
        ),
        (json!(null), json!(null))
    );
    assert_eq!(
        app.row("user_card").await.unwrap()["stripe_customer_id"],
        "cus_card"
    );

    let mut other = fixture("customer");
    other["id"] = json!("cus_card");
    let (status, body) = stripe_post(
        &app,
        &stripe_event("evt_3", "customer.updated", other),
        None,
        STRIPE_WEBHOOK_SECRET,
    )
    .await;
    assert_eq!(
        (status, &body["applied"]),
        (200, &json!(false)),
        "other types are acknowledged"
    );
    assert_eq!(
        app.row("user_card").await.unwrap()["stripe_customer_id"],
        "cus_card"
    );
}

#[tokio::test]
async fn stripe_webhooks_with_bad_signatures_or_stale_timestamps_are_refused() {
    let app = app().await;
    app.db.insert_paid_user("user_card").await;
    let mut pm = fixture("payment_method");
    pm["id"] = json!("pm_card");
    let body = stripe_event("evt_9", "payment_method.detached", pm);
    let got = stripe_post(&app, &body, None, "whsec_not_ours").await;
    assert_error(&got, 400);
    let got = stripe_post(
        &app,
        &body,
        Some(clerk::now() - 3600),
        STRIPE_WEBHOOK_SECRET,
    )
    .await;
    assert_error(&got, 400);
    let resp = app
        .http
        .post(app.url("/webhooks/stripe"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "no signature header");
    assert_eq!(
        app.row("user_card").await.unwrap()["card_payment_method_id"],
        "pm_card",
        "nothing applied"
    );
}

#[tokio::test]
async fn webhooks_without_their_secret_are_not_served() {
    let app = TestApp::spawn().await; // AUTH_MODE=none, no webhook secrets
    let got = stripe_post(&app, "{}", None, STRIPE_WEBHOOK_SECRET).await;
    assert_error(&got, 503);
}

/// Svix retries each delivery on its own schedule, so Clerk's events arrive in
/// any order. They are ordered by when Clerk emitted them (`timestamp`): an
/// older update does not overwrite a newer one, and nothing older than a
/// deletion brings the user back.
#[tokio::test]
async fn clerk_events_out_of_order_neither_roll_back_nor_resurrect() {
    let app = app().await;
    let now = clerk::now();
    let event = |kind: &str, first: &str, secs_ago: i64| {
        let mut v: Value =
            serde_json::from_str(&user_event(kind, "hook@example.com", first)).unwrap();
        v["timestamp"] = json!((now - secs_ago) * 1000);
        v.to_string()
    };
    let post = |svix_id: &'static str, body: String| {
        let app = &app;
        async move {
            let (status, body) = clerk_post(app, svix_id, now, &body, None).await;
            assert_eq!(status, 200, "{body}");
            body["applied"].as_bool().unwrap()
        }
    };

    assert!(post("msg_a", event("user.created", "First", 30)).await);
    assert!(post("msg_b", event("user.updated", "Newer", 10)).await);
    assert!(
        !post("msg_c", event("user.updated", "Older", 20)).await,
        "an update older than the last applied one is acknowledged, not applied"
    );
    assert_eq!(app.row("user_hook").await.unwrap()["first_name"], "Newer");

    let mut deleted = json!({"type": "user.deleted", "data": {"id": "user_hook", "deleted": true}});
    deleted["timestamp"] = json!((now - 5) * 1000);
    assert!(post("msg_d", deleted.to_string()).await);
    assert!(app.row("user_hook").await.is_none());
    // Late deliveries of events from before the deletion.
    assert!(!post("msg_e", event("user.updated", "Ghost", 8)).await);
    assert!(!post("msg_f", event("user.created", "First", 30)).await);
    assert!(
        app.row("user_hook").await.is_none(),
        "a deleted user is not recreated (nor provisioned in Stripe again)"
    );
}

/// A user Clerk deleted stays deleted on every path that could create them:
/// their own still-valid session token, a service's sync, a late Clerk
/// `user.updated`. The answer says so (410), and nothing is written.
#[tokio::test]
async fn a_deleted_user_is_not_created_again_by_any_sync() {
    let app = app().await;
    let now = clerk::now();
    let (status, _) = clerk_post(
        &app,
        "msg_c",
        now - 20,
        &user_event("user.created", "hook@example.com", "Hanna"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let mut claims = clerk::claims("user_hook");
    claims["email"] = json!("hook@example.com");
    let token = clerk::sign(&claims, "k1", &clerk::keys().0);
    let deleted =
        json!({"type": "user.deleted", "data": {"id": "user_hook", "deleted": true}}).to_string();
    let (status, _) = clerk_post(&app, "msg_d", now - 10, &deleted, None).await;
    assert_eq!(status, 200);
    assert!(app.row("user_hook").await.is_none());

    let sync = json!({"clerk_user_id": "user_hook", "email": "hook@example.com",
                      "first_name": "Hanna", "phone_number": "", "username": "hooky"});
    for (who, credential) in [
        ("the user's own token", token.as_str()),
        ("a service token", clerk::SERVICE_TOKEN),
    ] {
        let resp = app
            .http
            .post(app.url("/api/user/sync-from-frontend"))
            .bearer_auth(credential)
            .json(&sync)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_error(&(status, body.clone()), 410);
        assert_eq!(body["message"], "User was deleted", "{who}");
        assert!(app.row("user_hook").await.is_none(), "{who}: no row");
    }
    // A Clerk update emitted after the deletion (clocks, retries) does not
    // bring them back either.
    let (status, body) = clerk_post(
        &app,
        "msg_late",
        now,
        &user_event("user.updated", "hook@example.com", "Ghost"),
        None,
    )
    .await;
    assert_eq!((status, &body["applied"]), (200, &json!(false)), "{body}");
    assert!(app.row("user_hook").await.is_none());
}
