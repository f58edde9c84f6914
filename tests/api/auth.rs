//! Authentication and authorization: every cell of the access table, every way a
//! token can be wrong, the JWKS cache, and CORS.

use crate::common::clerk::{self, ISSUER, PARTY, SERVICE_TOKEN};
use crate::common::{Options, TestApp};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::MockServer;

const ME: &str = "user_me";
const OTHER: &str = "user_other";

#[derive(Clone, Copy, Debug)]
enum Who {
    Me,
    Other,
    Service,
    Nobody,
}

async fn app() -> (TestApp, MockServer) {
    let jwks = clerk::jwks_server().await;
    let app = TestApp::spawn_with(Options {
        env: clerk::env(&jwks),
        ..Default::default()
    })
    .await;
    (app, jwks)
}

async fn call(
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
async fn seed(app: &TestApp) {
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

/// A browser hands the page an answer, an error included, only when it carries
/// `Access-Control-Allow-Origin`; otherwise the page sees "Failed to fetch".
#[tokio::test]
async fn every_answer_to_an_allowed_origin_carries_cors_headers() {
    let (app, _jwks) = app().await;
    seed(&app).await;
    let token = clerk::token(ME);
    let other = clerk::token(OTHER);
    // (method, path, bearer token, content type, body, status for the allowed origin)
    type Case<'a> = (
        Method,
        String,
        Option<&'a str>,
        Option<&'a str>,
        Vec<u8>,
        u16,
    );
    let cases: Vec<Case> = vec![
        (
            Method::GET,
            format!("/api/user/{ME}"),
            Some(&token),
            None,
            vec![],
            200,
        ),
        (
            Method::GET,
            format!("/api/user/{ME}"),
            None,
            None,
            vec![],
            401,
        ),
        (
            Method::GET,
            format!("/api/user/{ME}"),
            Some("garbage"),
            None,
            vec![],
            401,
        ),
        (
            Method::GET,
            format!("/api/user/{ME}/payment"),
            Some(&other),
            None,
            vec![],
            403,
        ),
        (
            Method::GET,
            "/api/user/user_ghost/payment".into(),
            Some(SERVICE_TOKEN),
            None,
            vec![],
            404,
        ),
        (
            Method::GET,
            "/api/no/such/route".into(),
            Some(&token),
            None,
            vec![],
            404,
        ),
        (
            Method::PATCH,
            format!("/api/user/{ME}"),
            Some(&token),
            None,
            vec![],
            405,
        ),
        (
            Method::POST,
            "/api/user/sync-from-frontend".into(),
            Some(&token),
            Some("application/json"),
            b"{".to_vec(),
            400,
        ),
        (
            Method::POST,
            "/api/user/sync-from-frontend".into(),
            Some(&token),
            Some("text/plain"),
            b"{}".to_vec(),
            415,
        ),
        (
            Method::POST,
            "/api/user/sync-from-frontend".into(),
            Some(&token),
            Some("application/json"),
            vec![b' '; 128 * 1024],
            413,
        ),
        (
            Method::PUT,
            format!("/api/user/{ME}/payment"),
            Some(&token),
            Some("application/json"),
            br#"{"paymentMethodId":"pm_1"}"#.to_vec(),
            503,
        ),
        (
            Method::DELETE,
            format!("/api/user/{ME}/payment"),
            Some(&token),
            None,
            vec![],
            200,
        ),
        (
            Method::DELETE,
            format!("/api/user/{ME}/payment"),
            Some(&token),
            None,
            vec![],
            400,
        ),
    ];
    for origin in [Some(PARTY), Some("https://evil.example.com"), None] {
        app.store_card(ME, "pm_me").await;
        for (method, path, bearer, content_type, body, want) in &cases {
            let mut req = app
                .http
                .request(method.clone(), app.url(path))
                .body(body.clone());
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            if let Some(b) = bearer {
                req = req.bearer_auth(b);
            }
            if let Some(ct) = content_type {
                req = req.header("content-type", *ct);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let acao = resp.headers().get("access-control-allow-origin").cloned();
            let vary: Vec<String> = resp
                .headers()
                .get_all("vary")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            let answer: Value = resp.json().await.unwrap_or(Value::Null);
            let what = format!("{method} {path} from {origin:?}: {status} {answer}");
            assert!(answer["success"].is_boolean(), "JSON answer: {what}");
            assert!(
                vary.iter().any(|v| v.eq_ignore_ascii_case("origin")),
                "Vary: {what}"
            );
            match origin {
                Some(PARTY) => {
                    assert_eq!(status, *want, "{what}");
                    assert_eq!(
                        acao.as_ref().map(|v| v.to_str().unwrap()),
                        Some(PARTY),
                        "{what}"
                    );
                    assert!(answer["message"].is_string() || status < 400, "{what}");
                }
                Some(_) => {
                    assert_eq!(status, 403, "{what}");
                    assert_eq!(
                        acao, None,
                        "a disallowed origin gets no CORS header: {what}"
                    );
                }
                None => {
                    assert_eq!(status, *want, "{what}");
                    assert_eq!(acao, None, "{what}");
                }
            }
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

#[tokio::test]
async fn every_kind_of_bad_token_is_401_invalid_token() {
    let (app, jwks) = app().await;
    seed(&app).await;
    let (k1, k2) = clerk::keys();
    let with = |patch: Value| {
        let mut c = clerk::claims(ME);
        c.as_object_mut()
            .unwrap()
            .extend(patch.as_object().unwrap().clone());
        clerk::sign(&c, "k1", k1)
    };
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    let valid = clerk::token(ME);
    let parts: Vec<&str> = valid.split('.').collect();
    let mut tampered_claims = clerk::claims(OTHER);
    tampered_claims["sub"] = json!(OTHER);
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &clerk::claims(ME),
        &jsonwebtoken::EncodingKey::from_secret(k1.public_pem.as_bytes()),
    )
    .unwrap();

    let bad: Vec<(&str, String)> = vec![
        ("expired", with(json!({"exp": clerk::now() - 60}))),
        ("not yet valid", with(json!({"nbf": clerk::now() + 60}))),
        (
            "wrong issuer",
            with(json!({"iss": "https://evil.example.com"})),
        ),
        (
            "wrong azp",
            with(json!({"azp": "https://evil.example.com"})),
        ),
        ("no azp", {
            let mut c = clerk::claims(ME);
            c.as_object_mut().unwrap().remove("azp");
            clerk::sign(&c, "k1", k1)
        }),
        ("unknown kid", clerk::sign(&clerk::claims(ME), "k2", k2)),
        (
            "right kid, wrong key",
            clerk::sign(&clerk::claims(ME), "k1", k2),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT", "kid": "k1"})),
                parts[1]
            ),
        ),
        ("HS256 with the public key as secret", hs256),
        (
            "tampered payload",
            format!("{}.{}.{}", parts[0], b64(&tampered_claims), parts[2]),
        ),
        ("garbage", "not-a-token".into()),
        ("three garbage parts", "abc.def.ghi".into()),
        ("sub not a user id", with(json!({"sub": "not a user"}))),
        (
            "lives longer than CLERK_MAX_TOKEN_LIFETIME_SECS (1 h)",
            with(json!({"iat": clerk::now() - 10, "exp": clerk::now() + 3600})),
        ),
        ("no iat", {
            let mut c = clerk::claims(ME);
            c.as_object_mut().unwrap().remove("iat");
            clerk::sign(&c, "k1", k1)
        }),
        ("a crit header", {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
            header.kid = Some("k1".into());
            header.crit = Some(vec!["exp".into()]);
            jsonwebtoken::encode(
                &header,
                &clerk::claims(ME),
                &jsonwebtoken::EncodingKey::from_rsa_pem(k1.private_pem.as_bytes()).unwrap(),
            )
            .unwrap()
        }),
    ];
    for (what, token) in bad {
        let resp = app
            .http
            .get(app.url(&format!("/user/{ME}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{what}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body,
            json!({"success": false, "message": "Invalid token"}),
            "{what}"
        );
    }
    // Unknown kids cost at most one refetch per minute: the first request loaded
    // the keys, the first unknown kid refetched once, later ones did not.
    let fetches = jwks.received_requests().await.unwrap().len();
    assert_eq!(
        fetches, 2,
        "the first load and one refetch for the unknown kid"
    );

    // A valid token still passes, of course.
    let resp = app
        .http
        .get(app.url(&format!("/user/{ME}")))
        .bearer_auth(&valid)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let _ = (ISSUER, PARTY);
}

#[tokio::test]
async fn cached_keys_keep_working_while_the_jwks_endpoint_is_down() {
    let (app, jwks) = app().await;
    seed(&app).await;
    let (status, _) = call(&app, Method::GET, &format!("/user/{ME}"), Who::Me, None).await;
    assert_eq!(status, 200);
    jwks.reset().await; // the endpoint now answers 404 to everything
    let (status, _) = call(&app, Method::GET, &format!("/user/{ME}"), Who::Me, None).await;
    assert_eq!(status, 200);
    let (status, body) = call(&app, Method::GET, &format!("/user/{ME}"), Who::Other, None).await;
    assert_eq!(
        (status, body["user"].get("email")),
        (200, None),
        "other tokens are still verified with the cached key (and get the public view)"
    );
}

#[tokio::test]
async fn a_pem_key_works_instead_of_jwks() {
    let mut env: Vec<(String, String)> = clerk::env(&clerk::jwks_server().await)
        .into_iter()
        .filter(|(k, _)| k != "CLERK_JWKS_URL")
        .collect();
    env.push((
        "CLERK_JWT_KEY".into(),
        clerk::keys().0.public_pem.replace('\n', "\\n"),
    ));
    let app = TestApp::spawn_with(Options {
        env,
        ..Default::default()
    })
    .await;
    app.db.insert_paid_user(ME).await;
    let (status, _) = call(&app, Method::GET, &format!("/user/{ME}"), Who::Me, None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn cors_preflights_are_answered_for_the_frontend_origin_only() {
    let (app, _jwks) = app().await;
    let preflight = |origin: &'static str| {
        app.http
            .request(
                Method::OPTIONS,
                app.url("/api/user/user_me/payment-methods"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let ok = preflight(PARTY).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["access-control-allow-origin"], PARTY);
    let methods = ok.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    for m in ["GET", "POST", "PUT", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let denied = preflight("https://evil.example.com").await.unwrap();
    assert_eq!(denied.status(), 403);

    let simple = app
        .http
        .get(app.url("/health"))
        .header("origin", PARTY)
        .send()
        .await
        .unwrap();
    assert_eq!(simple.headers()["access-control-allow-origin"], PARTY);
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

/// A token is verified once and then remembered (src/auth/verified.rs); these
/// pin what the memory must never change: expiry and key rotation still apply.
#[tokio::test]
async fn a_remembered_token_still_expires() {
    let (app, _jwks) = app().await;
    seed(&app).await;
    // `exp` one second ahead: with the 5 s leeway, accepted for about 6 s.
    let mut claims = clerk::claims(ME);
    claims["exp"] = json!(clerk::now() + 1);
    let token = clerk::sign(&claims, "k1", &clerk::keys().0);
    let get = || {
        app.http
            .get(app.url(&format!("/user/{ME}")))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(get().await.unwrap().status(), 200);
    assert_eq!(get().await.unwrap().status(), 200, "remembered");
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    assert_eq!(
        get().await.unwrap().status(),
        401,
        "expired, remembered or not"
    );
}

#[tokio::test]
async fn a_remembered_token_is_dropped_when_clerk_rotates_its_keys() {
    let (app, jwks) = app().await;
    seed(&app).await;
    let old = clerk::token(ME);
    let get = |token: String| {
        app.http
            .get(app.url(&format!("/user/{ME}")))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(get(old.clone()).await.unwrap().status(), 200);
    // Clerk rotates: only "k2" is published from now on.
    jwks.reset().await;
    wiremock::Mock::given(wiremock::matchers::path("/.well-known/jwks.json"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({"keys": [clerk::jwk("k2", &clerk::keys().1)]})),
        )
        .mount(&jwks)
        .await;
    let new = clerk::sign(&clerk::claims(ME), "k2", &clerk::keys().1);
    assert_eq!(
        get(new).await.unwrap().status(),
        200,
        "the new key is fetched"
    );
    assert_eq!(
        get(old).await.unwrap().status(),
        401,
        "a token of the retired key is not honoured from memory"
    );
}

/// `CLERK_AUDIENCE`, when set, must be in the token's `aud`.
#[tokio::test]
async fn an_audience_when_configured_must_match() {
    let jwks = clerk::jwks_server().await;
    let mut env = clerk::env(&jwks);
    env.push(("CLERK_AUDIENCE".into(), "userlib-api".into()));
    let app = TestApp::spawn_with(Options {
        env,
        ..Default::default()
    })
    .await;
    seed(&app).await;
    let with_aud = |aud: Option<Value>| {
        let mut c = clerk::claims(ME);
        if let Some(aud) = aud {
            c["aud"] = aud;
        }
        clerk::sign(&c, "k1", &clerk::keys().0)
    };
    for (what, token, status) in [
        ("no aud", with_aud(None), 401),
        ("another aud", with_aud(Some(json!("other-api"))), 401),
        ("the aud", with_aud(Some(json!("userlib-api"))), 200),
        (
            "among several",
            with_aud(Some(json!(["x", "userlib-api"]))),
            200,
        ),
    ] {
        let resp = app
            .http
            .get(app.url(&format!("/user/{ME}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{what}");
    }
}

/// Clerk rotates keys: the key set is fetched again when its `max-age` runs
/// out, without any request needing an unknown key. A withdrawn key stops
/// verifying — remembered tokens included — and a key published right after
/// a refetch works within a `max-age`, not after the unknown-kid limit.
#[tokio::test]
async fn the_key_set_is_refreshed_by_its_max_age_and_withdrawn_keys_stop_working() {
    use wiremock::matchers::path;
    use wiremock::{Mock, ResponseTemplate};
    let jwks = MockServer::start().await;
    let publish = |keys: Value| {
        let jwks = &jwks;
        async move {
            jwks.reset().await;
            Mock::given(path("/.well-known/jwks.json"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .insert_header("cache-control", "public, max-age=1")
                        .set_body_json(json!({"keys": keys})),
                )
                .mount(jwks)
                .await;
        }
    };
    let (k1, k2) = clerk::keys();
    publish(json!([clerk::jwk("k1", k1)])).await;
    let mut env = clerk::env(&jwks);
    env.push(("CLERK_JWKS_MIN_REFRESH_SECS".into(), "1".into()));
    let app = TestApp::spawn_with(Options {
        env,
        ..Default::default()
    })
    .await;
    seed(&app).await;
    let get = |token: String| {
        let app = &app;
        async move {
            app.http
                .get(app.url(&format!("/user/{ME}")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let old = clerk::token(ME);
    assert_eq!(get(old.clone()).await, 200);
    // A forged kid uses up the unknown-kid refetch...
    assert_eq!(get(clerk::sign(&clerk::claims(ME), "k9", k2)).await, 401);
    // ...then Clerk publishes k2 beside k1, and later withdraws k1.
    publish(json!([clerk::jwk("k1", k1), clerk::jwk("k2", k2)])).await;
    let new = clerk::sign(&clerk::claims(ME), "k2", k2);
    let waited = std::time::Instant::now();
    loop {
        // Requests with the known token drive the refresh (it runs in the
        // background while they are answered).
        assert_eq!(get(old.clone()).await, 200);
        if get(new.clone()).await == 200 {
            break;
        }
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(5),
            "k2 accepted within a max-age (1 s) or two"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    publish(json!([clerk::jwk("k2", k2)])).await;
    let waited = std::time::Instant::now();
    while get(old.clone()).await == 200 {
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(5),
            "a remembered token of the withdrawn k1 stops working within a max-age or two"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(get(new).await, 200, "k2 still works");
    assert_eq!(get(old).await, 401);
}
