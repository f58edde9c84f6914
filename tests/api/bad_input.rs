//! Bad input: every case gets a 4xx JSON error with `success: false` and a short
//! message (never a 5xx, never serde or database text) and changes no data.
//! Here the bodies; paths, queries, conflicts and unknown users in
//! `bad_requests.rs`.

use crate::common::{TestApp, assert_error};
use reqwest::Method;
use serde_json::{Value, json};

pub(crate) const JSON: Option<&str> = Some("application/json");

/// Seeds two users (one with a card) and returns the app.
pub(crate) async fn seeded() -> TestApp {
    let app = TestApp::spawn().await;
    app.sync_user("user_one", "one@example.com").await;
    let (status, body) = app
        .post_json(
            "/user/sync-from-frontend",
            &json!({"clerk_user_id": "user_two", "email": "two@example.com", "username": "taken"}),
        )
        .await;
    assert_eq!(status, 200, "the seed row the conflict cases need: {body}");
    app.store_card("user_one", "pm_one").await;
    app
}

/// Sends each case, asserts the error, and asserts the data did not change.
pub(crate) async fn expect_all(
    app: &TestApp,
    status: u16,
    cases: &[(Method, &str, Option<&str>, Vec<u8>)],
) {
    let before = app.snapshot().await;
    for (method, path, ct, body) in cases {
        for prefix in ["", "/api"] {
            let got = app
                .send_raw(
                    method.clone(),
                    &format!("{prefix}{path}"),
                    *ct,
                    body.clone(),
                )
                .await;
            assert_error(&got, status);
        }
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a failed request changed data"
    );
}

pub(crate) fn j(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

/// Every route that takes a JSON body, with a body that is valid for it.
fn body_routes() -> Vec<(Method, &'static str, Value)> {
    vec![
        (
            Method::POST,
            "/user/temp",
            json!({"email": "t@example.com"}),
        ),
        (
            Method::POST,
            "/user/sync-from-frontend",
            json!({"clerk_user_id": "user_one", "email": "one@example.com"}),
        ),
        (
            Method::POST,
            "/user/user_one/update-customer-rating",
            json!({"rating": 4}),
        ),
        (
            Method::POST,
            "/user/user_one/update-runner-rating",
            json!({"rating": 4}),
        ),
        (
            Method::PUT,
            "/user/user_one/connect-account",
            json!({"stripe_connect_account_id": "acct_1"}),
        ),
        (
            Method::PUT,
            "/user/user_one/payment",
            json!({"paymentMethodId": "pm_1"}),
        ),
        (
            Method::POST,
            "/user/user_one/payment-methods",
            json!({"payment_method_id": "pm_1"}),
        ),
    ]
}

#[tokio::test]
async fn malformed_json_is_400_on_every_body_route() {
    let app = seeded().await;
    let mut cases = vec![];
    for (m, path, _) in body_routes() {
        for bad in [
            "{",
            "{\"email\": }",
            "not json",
            "{} trailing",
            "{\"rating\": 1e309}",
            "<x/>",
        ] {
            cases.push((m.clone(), path, JSON, bad.as_bytes().to_vec()));
        }
        // JSON, but not an object.
        for bad in ["[1]", "\"text\"", "42", "null", "true"] {
            cases.push((m.clone(), path, JSON, bad.as_bytes().to_vec()));
        }
    }
    expect_all(&app, 400, &cases).await;
}

#[tokio::test]
async fn empty_body_is_400_and_wrong_content_type_is_415() {
    let app = seeded().await;
    let mut empty = vec![];
    let mut wrong_type = vec![];
    for (m, path, good) in body_routes() {
        empty.push((m.clone(), path, JSON, vec![]));
        empty.push((m.clone(), path, JSON, b"   ".to_vec()));
        empty.push((m.clone(), path, None, vec![]));
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            wrong_type.push((m.clone(), path, ct, j(good.clone())));
        }
    }
    expect_all(&app, 400, &empty).await;
    expect_all(&app, 415, &wrong_type).await;
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_with_or_without_content_length() {
    let app = seeded().await;
    let big = format!(
        "{{\"email\": \"a@b.co\", \"pad\": \"{}\"}}",
        "x".repeat(64 * 1024)
    );
    let mut cases = vec![];
    for (m, path, _) in body_routes() {
        cases.push((m, path, JSON, big.clone().into_bytes()));
    }
    expect_all(&app, 413, &cases).await;

    // Chunked (no Content-Length): counted while reading.
    let before = app.snapshot().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..80)
        .map(|_| Ok(vec![b' '; 1024]))
        .chain([Ok(b"{}".to_vec())])
        .collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let got = app
        .send_raw(Method::POST, "/api/user/temp", JSON, body)
        .await;
    assert_error(&got, 413);
    assert_eq!(app.snapshot().await, before);

    // Just under the limit is read (and then judged on its content).
    let pad = 64 * 1024 - 40;
    let ok = format!(
        "{{\"email\": \"fits@example.com\", \"p\": \"{}\"}}",
        "x".repeat(pad)
    );
    assert!(ok.len() <= 64 * 1024);
    let (status, _) = app.send_raw(Method::POST, "/user/temp", JSON, ok).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn bad_ratings_are_400() {
    let app = seeded().await;
    let mut cases = vec![];
    for path in [
        "/user/user_one/update-customer-rating",
        "/user/user_one/update-runner-rating",
    ] {
        for bad in [
            json!({"rating": "4.5"}),
            json!({"rating": {"value": 4}}),
            json!({"rating": [4]}),
            json!({"rating": -0.5}),
            json!({"rating": 5.01}),
            json!({"rating": 100}),
            json!({"rating": null}),
            json!({"rating": true}),
            json!({}),
            json!({"stars": 4}),
        ] {
            cases.push((Method::POST, path, JSON, j(bad)));
        }
        for raw in [
            "{\"rating\": 1e309}",
            "{\"rating\": -1e309}",
            "{\"rating\": NaN}",
            "{\"rating\": Infinity}",
        ] {
            cases.push((Method::POST, path, JSON, raw.as_bytes().to_vec()));
        }
    }
    expect_all(&app, 400, &cases).await;
}

#[tokio::test]
async fn missing_and_invalid_fields_are_400() {
    let app = seeded().await;
    let long = |n: usize| "x".repeat(n);
    let sync = |extra: Value| {
        let mut base = json!({"clerk_user_id": "user_one", "email": "one@example.com"});
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        (Method::POST, "/user/sync-from-frontend", JSON, j(base))
    };
    let cases = vec![
        // temp user
        (Method::POST, "/user/temp", JSON, j(json!({}))),
        (Method::POST, "/user/temp", JSON, j(json!({"email": null}))),
        (Method::POST, "/user/temp", JSON, j(json!({"email": 42}))),
        (
            Method::POST,
            "/user/temp",
            JSON,
            j(json!({"email": "no-at-sign"})),
        ),
        (
            Method::POST,
            "/user/temp",
            JSON,
            j(json!({"email": format!("{}@example.com", long(250))})),
        ),
        (
            Method::POST,
            "/user/temp",
            JSON,
            j(json!({"email": "a@b.co", "first_name": long(101)})),
        ),
        (
            Method::POST,
            "/user/temp",
            JSON,
            j(json!({"email": "a@b.co", "username": "has space"})),
        ),
        (
            Method::POST,
            "/user/temp",
            JSON,
            j(json!({"email": "a@b.co", "phone_number": "call me maybe"})),
        ),
        // sync
        (
            Method::POST,
            "/user/sync-from-frontend",
            JSON,
            j(json!({"email": "x@example.com"})),
        ),
        (
            Method::POST,
            "/user/sync-from-frontend",
            JSON,
            j(json!({"clerk_user_id": "user_new"})),
        ),
        sync(json!({"email": "not-an-email"})),
        sync(json!({"email": ""})),
        sync(json!({"first_name": long(101)})),
        sync(json!({"last_name": long(101)})),
        sync(json!({"phone_number": "1".repeat(21)})),
        sync(json!({"phone_number": "call me maybe"})),
        sync(json!({"username": long(101)})),
        sync(json!({"clerk_user_id": ""})),
        sync(json!({"clerk_user_id": long(256)})),
        sync(json!({"clerk_user_id": "user one"})),
        sync(json!({"clerk_user_id": "user/one"})),
        sync(json!({"clerk_user_id": "usér"})),
        sync(json!({"clerk_user_id": 7})),
        sync(json!({"profile_update_only": "yes"})),
        // connect account and payment ids
        (
            Method::PUT,
            "/user/user_one/connect-account",
            JSON,
            j(json!({})),
        ),
        (
            Method::PUT,
            "/user/user_one/connect-account",
            JSON,
            j(json!({"stripe_connect_account_id": "ba_1"})),
        ),
        (
            Method::PUT,
            "/user/user_one/connect-account",
            JSON,
            j(json!({"stripe_connect_account_id": ""})),
        ),
        (
            Method::PUT,
            "/user/user_one/connect-account",
            JSON,
            j(json!({"stripe_connect_account_id": "acct_1/../../customers/cus_2"})),
        ),
        (Method::PUT, "/user/user_one/payment", JSON, j(json!({}))),
        (
            Method::PUT,
            "/user/user_one/payment",
            JSON,
            j(json!({"paymentMethodId": "card_1"})),
        ),
        (
            Method::PUT,
            "/user/user_one/payment",
            JSON,
            j(json!({"payment_method_id": "pm_1"})),
        ),
        (
            Method::POST,
            "/user/user_one/payment-methods",
            JSON,
            j(json!({})),
        ),
        (
            Method::POST,
            "/user/user_one/payment-methods",
            JSON,
            j(json!({"payment_method_id": "pm_"})),
        ),
        (
            Method::POST,
            "/user/user_one/payment-methods",
            JSON,
            j(json!({"paymentMethodId": "pm_1"})),
        ),
    ];
    expect_all(&app, 400, &cases).await;
}
