//! Clerk session tokens as Clerk documents them: every way a token can be
//! wrong, the key set (JWKS or a PEM key, cached, refreshed by max-age,
//! rotated), the remembered-token cache, the audience.

use super::auth::{ME, OTHER, Who, app, call, seed};
use crate::common::clerk;
use crate::common::{Options, TestApp};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::MockServer;

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
