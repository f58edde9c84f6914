//! Every route of the seed, at the root and under `/api`, answering in the wire
//! format of docs/wire-compatibility.md. The payment routes: `payment_routes.rs`.

use crate::common::{TestApp, assert_error};
use serde_json::json;

pub(crate) const PREFIXES: [&str; 2] = ["", "/api"];

#[tokio::test]
async fn health_is_liveness_and_ready_checks_the_database() {
    let app = TestApp::spawn().await;
    for p in PREFIXES {
        let (status, body) = app.get(&format!("{p}/health")).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("healthy")));
        assert_eq!(body["success"], true);
        let (status, body) = app.get(&format!("{p}/ready")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["success"], true);
    }
}

#[tokio::test]
async fn sync_creates_then_updates_without_touching_payment_data() {
    let app = TestApp::spawn().await;
    for (i, p) in PREFIXES.iter().enumerate() {
        let id = format!("user_sync{i}");
        let (status, body) = app
            .post_json(
                &format!("{p}/user/sync-from-frontend"),
                &json!({"clerk_user_id": id, "email": format!("s{i}@example.com"),
                        "first_name": "Ann", "last_name": "Lee", "phone_number": "",
                        "username": format!("ann{i}")}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["success"], true);
        assert_eq!(body["created"], true);
        let user = &body["user"];
        assert_eq!(user["clerkUserId"], id.as_str());
        assert_eq!(user["firstName"], "Ann");
        assert_eq!(
            user["phoneNumber"],
            json!(null),
            "empty phone is stored as none"
        );
        assert_eq!(user["customerRating"], 5.0);
        assert_eq!(user["runnerRating"], 5.0);
        assert_eq!(
            user["stripeCustomerId"],
            json!(null),
            "payments not configured: no Stripe ids"
        );
        assert!(chrono::DateTime::parse_from_rfc3339(user["createdAt"].as_str().unwrap()).is_ok());

        app.store_card(&id, "pm_keep").await;
        let (status, body) = app
            .post_json(
                &format!("{p}/user/sync-from-frontend"),
                &json!({"clerk_user_id": id, "email": format!("s{i}@example.com"),
                        "first_name": "Anne", "phone_number": "+6591234567",
                        "profile_update_only": true}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["created"], false);
        assert_eq!(body["user"]["firstName"], "Anne");
        assert_eq!(
            body["user"]["lastName"], "Lee",
            "a field not sent keeps its value"
        );
        assert_eq!(
            body["user"]["username"],
            format!("ann{i}"),
            "username not sent: kept"
        );
        assert_eq!(body["user"]["phoneNumber"], "+6591234567");
        assert_eq!(
            body["user"]["userStripeCard"]["payment_method_id"],
            "pm_keep"
        );
    }
}

/// Every key of the user object (docs/wire-compatibility.md), nested under `user`.
const USER_KEYS: [&str; 12] = [
    "clerkUserId",
    "username",
    "email",
    "firstName",
    "lastName",
    "phoneNumber",
    "customerRating",
    "runnerRating",
    "stripeCustomerId",
    "stripeConnectAccountId",
    "createdAt",
    "updatedAt",
];

/// The frontend reads `response.user` (profile, payment page) and
/// `data.user.username || data.user.firstName`: the object is nested, never
/// spread over the top level.
#[tokio::test]
async fn get_user_nests_the_camel_case_object_under_user_and_honours_include_payment_details() {
    let app = TestApp::spawn().await;
    app.sync_user("user_get", "get@example.com").await;
    app.store_card("user_get", "pm_123").await;
    for p in PREFIXES {
        let (status, body) = app.get(&format!("{p}/user/user_get")).await;
        assert_eq!(status, 200, "{body}");
        let top: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            top,
            ["success", "user"],
            "only success and user at the top: {body}"
        );
        assert_eq!(body["success"], true);
        let user = body["user"].as_object().unwrap();
        let mut keys: Vec<&str> = user.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want: Vec<&str> = USER_KEYS.to_vec();
        want.push("userStripeCard");
        want.sort_unstable();
        assert_eq!(keys, want, "{body}");
        assert_eq!(user["clerkUserId"], "user_get");
        assert_eq!(user["email"], "get@example.com");
        assert_eq!(user["firstName"], "Ada");
        let card = &body["user"]["userStripeCard"];
        assert_eq!(card["payment_method_id"], "pm_123");
        assert_eq!(card["brand"], "visa");
        assert_eq!(card["last4"], "4242");
        assert_eq!(card["exp_month"], 12);
        assert_eq!(card["exp_year"], 2030);
        assert!(card["updated_at"].is_string());

        for off in ["false", "FALSE", "False"] {
            let (status, body) = app
                .get(&format!("{p}/user/user_get?includePaymentDetails={off}"))
                .await;
            assert_eq!(status, 200, "{body}");
            let mut keys: Vec<&str> = body["user"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            let mut want = USER_KEYS.to_vec();
            want.sort_unstable();
            assert_eq!(keys, want, "{off}: {body}");
            assert!(body.get("userStripeCard").is_none(), "{body}");
        }
        let (_, body) = app
            .get(&format!("{p}/user/user_get?includePaymentDetails=true"))
            .await;
        assert_eq!(
            body["user"]["userStripeCard"]["payment_method_id"],
            "pm_123"
        );

        assert_error(&app.get(&format!("{p}/user/user_nobody")).await, 404);
    }
}

#[tokio::test]
async fn ratings_are_stored() {
    let app = TestApp::spawn().await;
    app.sync_user("user_rate", "rate@example.com").await;
    for (i, p) in PREFIXES.iter().enumerate() {
        let value = 4.0 + i as f64 / 2.0;
        let (status, body) = app
            .post_json(
                &format!("{p}/user/user_rate/update-customer-rating"),
                &json!({"rating": value}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = app
            .post_json(
                &format!("{p}/user/user_rate/update-runner-rating"),
                &json!({"rating": 0}),
            )
            .await;
        assert_eq!(status, 200);
        let (_, body) = app.get(&format!("{p}/user/user_rate")).await;
        assert_eq!(body["user"]["customerRating"], value);
        assert_eq!(body["user"]["runnerRating"], 0.0);
        assert_error(
            &app.post_json(
                &format!("{p}/user/user_nobody/update-runner-rating"),
                &json!({"rating": 3}),
            )
            .await,
            404,
        );
    }
}

#[tokio::test]
async fn temp_users_get_generated_ids_and_default_names() {
    let app = TestApp::spawn().await;
    for (i, p) in PREFIXES.iter().enumerate() {
        let (status, body) = app
            .post_json(
                &format!("{p}/user/temp"),
                &json!({"email": format!("t{i}@example.com")}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let user = &body["user"];
        let id = user["clerk_user_id"].as_str().unwrap();
        assert!(id.starts_with("temp_") && id.len() == 37, "{id}");
        assert!(id[5..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(user["first_name"], "Temp");
        assert_eq!(user["last_name"], "User");
        assert_eq!(user["email"], format!("t{i}@example.com"));
        let (status, _) = app.get(&format!("{p}/user/{id}")).await;
        assert_eq!(status, 200);
    }
    let (status, body) = app
        .post_json(
            "/user/temp",
            &json!({"email": "named@example.com", "first_name": "Bo", "last_name": "Li"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        (
            body["user"]["first_name"].as_str(),
            body["user"]["last_name"].as_str()
        ),
        (Some("Bo"), Some("Li"))
    );
    // The username and phone it is given are kept, as the original kept them.
    let (status, body) = app
        .post_json(
            "/user/temp",
            &json!({"email": "kept@example.com", "username": "tempo", "phone_number": "+65 9000 0000"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["user"]["clerk_user_id"].as_str().unwrap();
    let (_, stored) = app.get(&format!("/user/{id}")).await;
    assert_eq!(
        (&stored["user"]["username"], &stored["user"]["phoneNumber"]),
        (&json!("tempo"), &json!("+65 9000 0000"))
    );
}

/// A field a sync does not send keeps its stored value — the email too, as
/// the original did; only a user's first sync needs one.
#[tokio::test]
async fn a_sync_without_an_email_keeps_the_stored_one() {
    let app = TestApp::spawn().await;
    app.sync_user("user_kept", "kept@example.com").await;
    let (status, body) = app
        .post_json(
            "/api/user/sync-from-frontend",
            &json!({"clerk_user_id": "user_kept", "first_name": "Renamed"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["user"]["email"], &body["user"]["firstName"]),
        (&json!("kept@example.com"), &json!("Renamed"))
    );
    assert_eq!(
        app.row("user_kept").await.unwrap()["email"],
        "kept@example.com"
    );
    let got = app
        .post_json(
            "/api/user/sync-from-frontend",
            &json!({"clerk_user_id": "user_new_no_email", "first_name": "New"}),
        )
        .await;
    assert_error(&got, 400);
    assert_eq!(got.1["message"], "email is required");
    assert!(app.row("user_new_no_email").await.is_none());
}

#[tokio::test]
async fn list_users_wins_over_user_id_route() {
    let app = TestApp::spawn().await;
    app.sync_user("user_b", "b@example.com").await;
    app.sync_user("user_a", "a@example.com").await;
    for p in PREFIXES {
        let (status, body) = app.get(&format!("{p}/user/list-users")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({"success": true, "userIds": ["user_a", "user_b"]})
        );
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let app = TestApp::spawn().await;
    for p in PREFIXES {
        assert_error(&app.get(&format!("{p}/nope")).await, 404);
        assert_error(&app.get(&format!("{p}/user/x/unknown")).await, 404);
        let patch = app
            .send_raw(
                reqwest::Method::PATCH,
                &format!("{p}/user/user_x"),
                None,
                "",
            )
            .await;
        assert_error(&patch, 405);
        assert_error(&app.delete(&format!("{p}/user/list-users")).await, 405);
        // A 405 names the methods the path takes (RFC 9110).
        for (method, path, allow) in [
            ("PATCH", "/user/user_x", "GET"),
            ("POST", "/user/user_x/payment", "DELETE, GET, PUT"),
            ("TRACE", "/health", "GET"),
        ] {
            let resp = app
                .http
                .request(method.parse().unwrap(), app.url(&format!("{p}{path}")))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 405, "{method} {p}{path}");
            assert_eq!(resp.headers()["allow"], allow, "{method} {p}{path}");
        }
    }
}
