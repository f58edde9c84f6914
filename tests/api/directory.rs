//! The user directory on the API side: the batch look-up `GET /users/public`,
//! and the outbox (sql/V5) every public change is written to in the same
//! transaction — nothing for a write that failed or changed nothing visible.

use crate::common::clerk::{self, SERVICE_TOKEN};
use crate::common::{Options, TestApp, assert_error};
use serde_json::{Value, json};

/// The outbox's events, oldest first: (version, user, first name, deleted).
async fn outbox(app: &TestApp) -> Vec<(i64, String, Option<String>, bool)> {
    app.db
        .client()
        .await
        .query(
            "SELECT id, clerk_user_id, first_name, deleted FROM user_directory_outbox ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

async fn sync(app: &TestApp, body: Value) -> (u16, Value) {
    app.post_json("/api/user/sync-from-frontend", &body).await
}

#[tokio::test]
async fn batch_look_up_answers_the_public_views_of_those_that_exist() {
    let app = TestApp::spawn().await;
    for (id, first) in [("user_a", "Ada"), ("user_b", "Bo"), ("user_c", "Cy")] {
        let (status, body) = sync(
            &app,
            json!({"clerk_user_id": id, "email": format!("{id}@example.com"),
                   "first_name": first, "last_name": "L", "username": format!("{id}_name"),
                   "phone_number": "+6591234567"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    for prefix in ["", "/api"] {
        let (status, body) = app
            .get(&format!(
                "{prefix}/users/public?ids=user_c,user_nobody,user_a,user_c"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({"success": true, "users": [
                {"clerkUserId": "user_c", "username": "user_c_name", "firstName": "Cy", "lastName": "L"},
                {"clerkUserId": "user_a", "username": "user_a_name", "firstName": "Ada", "lastName": "L"},
            ]}),
            "in the order asked, each once, the unknown left out, nothing but the public view"
        );
    }
    let (status, body) = app.get("/users/public?ids=user_nobody").await;
    assert_eq!((status, body), (200, json!({"success": true, "users": []})));

    // A hundred ids (the limit), in one round trip's worth of reads.
    let ids: Vec<String> = (0..99)
        .map(|i| format!("user_missing{i}"))
        .chain(["user_b".to_owned()])
        .collect();
    let (status, body) = app
        .get(&format!("/users/public?ids={}", ids.join(",")))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["users"][0]["clerkUserId"], "user_b");
    assert_eq!(body["users"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn batch_look_up_refuses_a_bad_query_with_a_clear_400() {
    let app = TestApp::spawn().await;
    let too_many: Vec<String> = (0..101).map(|i| format!("user_{i}")).collect();
    for (query, says) in [
        ("", "ids is required"),
        ("?ids=", "ids is required"),
        ("?ids=%20", "ids is required"),
        ("?other=1", "ids is required"),
        ("?ids=user_a,,user_b", "ids must be user ids"),
        ("?ids=user_a,user%20b", "ids must be user ids"),
        ("?ids=user_a,../admin", "ids must be user ids"),
        (&format!("?ids={}", too_many.join(",")), "at most 100"),
    ] {
        let got = app.get(&format!("/users/public{query}")).await;
        assert_error(&got, 400);
        assert!(
            got.1["message"].as_str().unwrap().contains(says),
            "{query}: {}",
            got.1
        );
    }
    let got = app.post_json("/users/public?ids=user_a", &json!({})).await;
    assert_error(&got, 405);
}

#[tokio::test]
async fn batch_look_up_is_for_any_signed_in_caller_and_shows_only_public_views() {
    let jwks = clerk::jwks_server().await;
    let app = TestApp::spawn_with(Options {
        env: clerk::env(&jwks),
        ..Default::default()
    })
    .await;
    let resp = app
        .http
        .post(app.url("/user/sync-from-frontend"))
        .bearer_auth(SERVICE_TOKEN)
        .json(
            &json!({"clerk_user_id": "user_runner", "email": "r@example.com",
                      "first_name": "Rita", "last_name": "Runner"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let got = app.get("/users/public?ids=user_runner").await;
    assert_error(&got, 401);
    for token in [clerk::token("user_customer"), SERVICE_TOKEN.to_owned()] {
        let resp = app
            .http
            .get(app.url("/api/users/public?ids=user_runner"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["users"],
            json!([{"clerkUserId": "user_runner", "username": null,
                    "firstName": "Rita", "lastName": "Runner"}])
        );
    }
}

#[tokio::test]
async fn every_public_change_is_in_the_outbox_with_its_write_and_nothing_else() {
    let app = TestApp::spawn().await;
    let ada = json!({"clerk_user_id": "user_ada", "email": "ada@example.com",
                     "first_name": "Ada", "last_name": "L"});
    assert_eq!(sync(&app, ada.clone()).await.0, 200);
    let first = outbox(&app).await;
    assert_eq!(
        first
            .iter()
            .map(|e| (e.1.as_str(), e.2.as_deref(), e.3))
            .collect::<Vec<_>>(),
        [("user_ada", Some("Ada"), false)]
    );

    // Nothing visible changed: no event (the same names again, a rating, a
    // payout account, a phone number).
    assert_eq!(sync(&app, ada.clone()).await.0, 200);
    let (status, _) = app
        .post_json(
            "/user/user_ada/update-runner-rating",
            &json!({"rating": 4.5}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .put_json(
            "/user/user_ada/connect-account",
            &json!({"stripe_connect_account_id": "acct_1ABC"}),
        )
        .await;
    assert_eq!(status, 200);
    let phone = json!({"clerk_user_id": "user_ada", "phone_number": "+6591234567"});
    assert_eq!(sync(&app, phone).await.0, 200);
    assert_eq!(outbox(&app).await, first);

    // A write that failed leaves no event: the rename and its event roll back
    // together (Bo's email is taken by Ada).
    let bo = json!({"clerk_user_id": "user_bo", "email": "bo@example.com", "first_name": "Bo"});
    assert_eq!(sync(&app, bo).await.0, 200);
    let before = outbox(&app).await;
    let clash =
        json!({"clerk_user_id": "user_bo", "email": "ada@example.com", "first_name": "Bob"});
    assert_error(&sync(&app, clash).await, 409);
    assert_eq!(outbox(&app).await, before);
    assert_eq!(app.row("user_bo").await.unwrap()["first_name"], "Bo");

    // A rename and a temporary user each leave one; versions only grow.
    let rename = json!({"clerk_user_id": "user_ada", "first_name": "Augusta"});
    assert_eq!(sync(&app, rename).await.0, 200);
    let (status, temp) = app
        .post_json(
            "/user/temp",
            &json!({"email": "t@example.com", "first_name": "Tem"}),
        )
        .await;
    assert_eq!(status, 201, "{temp}");
    let events = outbox(&app).await;
    assert_eq!(events.len(), before.len() + 2);
    assert_eq!(
        (
            events[events.len() - 2].1.as_str(),
            events[events.len() - 2].2.as_deref()
        ),
        ("user_ada", Some("Augusta"))
    );
    assert_eq!(
        events.last().unwrap().1,
        temp["user"]["clerk_user_id"].as_str().unwrap()
    );
    assert!(events.windows(2).all(|w| w[0].0 < w[1].0));
}

#[tokio::test]
async fn concurrent_syncs_in_group_commit_batches_each_leave_their_event() {
    let app = TestApp::spawn().await;
    let n = 300;
    let creates = (0..n).map(|i| {
        sync(
            &app,
            json!({"clerk_user_id": format!("user_{i:03}"), "email": format!("u{i}@example.com"),
                   "first_name": "Before"}),
        )
    });
    assert!(
        futures_util::future::join_all(creates)
            .await
            .iter()
            .all(|(s, _)| *s == 200)
    );
    let renames = (0..n).map(|i| {
        sync(
            &app,
            json!({"clerk_user_id": format!("user_{i:03}"), "first_name": format!("After{i}")}),
        )
    });
    assert!(
        futures_util::future::join_all(renames)
            .await
            .iter()
            .all(|(s, _)| *s == 200)
    );
    let events = outbox(&app).await;
    assert_eq!(events.len(), 2 * n);
    for i in 0..n {
        let id = format!("user_{i:03}");
        let mine: Vec<_> = events.iter().filter(|e| e.1 == id).collect();
        assert_eq!(mine.len(), 2, "{id}");
        assert_eq!(mine[0].2.as_deref(), Some("Before"));
        assert_eq!(mine[1].2.as_deref(), Some(format!("After{i}").as_str()));
    }
}
