//! CORS: every answer to an allowed origin carries its headers (a browser
//! shows the page nothing without them), and preflights are answered for the
//! frontend's origin only.

use super::auth::{ME, OTHER, app, seed};
use crate::common::clerk::{self, PARTY, SERVICE_TOKEN};
use reqwest::Method;
use serde_json::Value;

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
