//! Authentication and authorization: every cell of the access table, the
//! public view, the session cookie, the verified email; and the helpers the
//! other auth modules share (`cors`, `tokens`).

use crate::common::clerk::{self, SERVICE_TOKEN};
use crate::common::{Options, TestApp};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::MockServer;

pub(super) const ME: &str = "user_me";
pub(super) const OTHER: &str = "user_other";

#[derive(Clone, Copy, Debug)]
pub(super) enum Who {
    Me,
    Other,
    Service,
    Nobody,
}

pub(super) async fn app() -> (TestApp, MockServer) {
    let jwks = clerk::jwks_server().await;
    let app = TestApp::spawn_with(Options {
        env: clerk::env(&jwks),
        ..Default::default()
    })
    .await;
    (app, jwks)
}

pub(super) async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    who: Who,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.http.request(method, app.url(path));
    req = match who {
        Who::Me => req.bearer_auth(clerk::token(ME)),
        Who::Other => req.bearer_auth(clerk::token(OTHER)),
        Who::Service => req.bearer_auth(SERVICE_TOKEN),
        Who::Nobody => req,
    };
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Seeds `user_me` (with a card) and `user_other` directly in the database.
pub(super) async fn seed(app: &TestApp) {
    app.db.insert_paid_user(ME).await;
    app.db.insert_paid_user(OTHER).await;
}

#[tokio::test]
async fn every_cell_of_the_access_table() {
    let (app, _jwks) = app().await;
    seed(&app).await;
    let rating = json!({"rating": 4});
    let sync = json!({"clerk_user_id": ME, "email": "me@example.com", "first_name": "Me"});
    // (method, path, body, [me, other, service, nobody]); "yes" cells carry the
    // status the allowed request gets (503: payments not configured here).
    let table: Vec<(Method, String, Option<Value>, [u16; 4])> = vec![
        // Another signed-in user gets the public view (see its own test).
        (
            Method::GET,
            format!("/user/{ME}"),
            None,
            [200, 200, 200, 401],
        ),
        (
            Method::GET,
            format!("/user/{ME}/payment"),
            None,
            [200, 403, 200, 401],
        ),
        (
            Method::GET,
            format!("/user/{ME}/connect-account"),
            None,
            [200, 403, 200, 401],
        ),
        (
            Method::PUT,
            format!("/user/{ME}/payment"),
            Some(json!({"paymentMethodId": "pm_1"})),
            [503, 403, 503, 401],
        ),
        (
            Method::POST,
            format!("/user/{ME}/payment-methods"),
            Some(json!({"payment_method_id": "pm_1"})),
            [503, 403, 503, 401],
        ),
        (
            Method::DELETE,
            format!("/user/{ME}/payment-methods"),
            None,
            [200, 403, 200, 401],
        ),
        (
            Method::DELETE,
            format!("/user/{ME}/payment"),
            None,
            [200, 403, 200, 401],
        ),
        (
            Method::PUT,
            format!("/user/{ME}/connect-account"),
            Some(json!({"stripe_connect_account_id": "acct_1"})),
            [403, 403, 200, 401],
        ),
        (
            Method::POST,
            format!("/user/{ME}/update-customer-rating"),
            Some(rating.clone()),
            [403, 403, 200, 401],
        ),
        (
            Method::POST,
            format!("/user/{ME}/update-runner-rating"),
            Some(rating),
            [403, 403, 200, 401],
        ),
        (
            Method::POST,
            "/user/sync-from-frontend".into(),
            Some(sync),
            [200, 403, 200, 401],
        ),
        (
            Method::GET,
            "/user/list-users".into(),
            None,
            [403, 403, 200, 401],
        ),
        (
            Method::POST,
            "/user/temp".into(),
            Some(json!({"email": "t@example.com"})),
            [403, 403, 201, 401],
        ),
        (Method::GET, "/health".into(), None, [200, 200, 200, 200]),
        (Method::GET, "/ready".into(), None, [200, 200, 200, 200]),
    ];
    for prefix in ["", "/api"] {
        for (method, path, body, expected) in &table {
            for (who, want) in [Who::Me, Who::Other, Who::Service, Who::Nobody]
                .into_iter()
                .zip(expected)
            {
                // Each allowed DELETE removes the card; the next caller needs one.
                app.store_card(ME, "pm_me").await;
                if *want == 201 && prefix == "/api" {
                    continue; // one temp user per email
                }
                let (status, answer) = call(
                    &app,
                    method.clone(),
                    &format!("{prefix}{path}"),
                    who,
                    body.clone(),
                )
                .await;
                assert_eq!(
                    status, *want,
                    "{method} {prefix}{path} as {who:?}: {answer}"
                );
                assert!(answer.get("success").is_some(), "JSON answer: {answer}");
                match status {
                    401 => assert_eq!(answer["message"], "Authentication required"),
                    403 => assert_eq!(answer["message"], "Forbidden"),
                    _ => {}
                }
            }
        }
    }
    // Forbidden requests changed nothing: other's rating is still the default.
    let (_, other) = call(
        &app,
        Method::GET,
        &format!("/user/{OTHER}"),
        Who::Service,
        None,
    )
    .await;
    assert_eq!(other["user"]["runnerRating"], 5.0);
}

/// The order pages show the other party's name through `GET /user/{other id}`
/// with the viewer's own token: any signed-in user gets the public view, the
/// user themself and services the whole object.
#[tokio::test]
async fn other_users_get_the_public_view_and_nothing_private() {
    let (app, _jwks) = app().await;
    seed(&app).await;
    app.db
        .execute(&format!(
            "UPDATE users SET username = 'runner_ray', first_name = 'Ray', last_name = 'Tan', \
             phone_number = '+6591234567', stripe_connect_account_id = 'acct_ray' \
             WHERE clerk_user_id = '{ME}'"
        ))
        .await;
    for prefix in ["", "/api"] {
        for query in [
            "",
            "?includePaymentDetails=true",
            "?includePaymentDetails=false",
        ] {
            let path = format!("{prefix}/user/{ME}{query}");
            let (status, body) = call(&app, Method::GET, &path, Who::Other, None).await;
            assert_eq!(status, 200, "{path}: {body}");
            assert_eq!(
                body,
                json!({"success": true, "user": {
                    "clerkUserId": ME, "username": "runner_ray",
                    "firstName": "Ray", "lastName": "Tan"}}),
                "{path}: exactly the public keys"
            );
            for who in [Who::Me, Who::Service] {
                let (status, body) = call(&app, Method::GET, &path, who, None).await;
                assert_eq!(status, 200, "{path} as {who:?}: {body}");
                assert_eq!(body["user"]["email"], "me@example.com", "{who:?}");
                assert_eq!(body["user"]["phoneNumber"], "+6591234567", "{who:?}");
                assert_eq!(body["user"]["stripeCustomerId"], "cus_me", "{who:?}");
            }
        }
        let (status, body) = call(
            &app,
            Method::GET,
            &format!("{prefix}/user/user_ghost"),
            Who::Other,
            None,
        )
        .await;
        assert_eq!((status, &body["message"]), (404, &json!("User not found")));
        // The other routes keep their access table.
        for path in [
            format!("/user/{ME}/payment"),
            format!("/user/{ME}/connect-account"),
        ] {
            let (status, _) = call(
                &app,
                Method::GET,
                &format!("{prefix}{path}"),
                Who::Other,
                None,
            )
            .await;
            assert_eq!(status, 403, "{path}");
        }
    }
}

#[tokio::test]
async fn the_session_cookie_is_accepted_like_the_header() {
    let (app, _jwks) = app().await;
    seed(&app).await;
    let resp = app
        .http
        .get(app.url(&format!("/api/user/{ME}")))
        .header(
            "cookie",
            format!("theme=dark; __session={}", clerk::token(ME)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// Anyone signed in could claim the address of someone who has not signed up
/// yet through the sync body (their own sync and Clerk's webhook then failed
/// with 409). A signed-in user's email now comes from Clerk: the session
/// token's email claim, else what Clerk's webhook stored.
#[tokio::test]
async fn a_signed_in_user_gets_the_email_clerk_verified_not_the_body_s() {
    let (app, _jwks) = app().await;
    let sync = |id: &str, email: &str| json!({"clerk_user_id": id, "email": email, "first_name": "Sam", "phone_number": "+6590000000"});
    let path = "/api/user/sync-from-frontend";

    // No claim and no row from Clerk yet: refused, and nothing is squatted.
    let (status, body) = call(
        &app,
        Method::POST,
        path,
        Who::Me,
        Some(sync(ME, "victim@example.com")),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["message"],
        "Your email could not be verified with Clerk; please sign in again"
    );
    assert!(app.row(ME).await.is_none());

    // With the claim, its email is stored whatever the body says.
    let mut claims = clerk::claims(ME);
    claims["email"] = json!("me@clerk.example");
    let with_claim = clerk::sign(&claims, "k1", &clerk::keys().0);
    let resp = app
        .http
        .post(app.url(path))
        .bearer_auth(&with_claim)
        .json(&sync(ME, "victim@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["user"]["email"], "me@clerk.example");
    assert_eq!(
        body["user"]["phoneNumber"], "+6590000000",
        "a user sets their phone"
    );

    // Without the claim, the stored (Clerk-verified) email stays.
    let (status, body) = call(
        &app,
        Method::POST,
        path,
        Who::Me,
        Some(sync(ME, "other@evil.example")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["email"], "me@clerk.example");
    assert_eq!(app.row(ME).await.unwrap()["email"], "me@clerk.example");

    // The address was never taken: its owner can still sign up.
    let (status, body) = call(
        &app,
        Method::POST,
        path,
        Who::Service,
        Some(sync("user_victim", "victim@example.com")),
    )
    .await;
    assert_eq!(
        status, 200,
        "services keep sending the email themselves: {body}"
    );
    assert_eq!(
        app.row("user_victim").await.unwrap()["email"],
        "victim@example.com"
    );
}
