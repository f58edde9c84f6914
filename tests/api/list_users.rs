//! `GET /user/list-users`: every id, streamed in a stable order; and pages with
//! `limit`/`after`/`nextCursor`.

use crate::common::TestApp;
use serde_json::{Value, json};

async fn seed(app: &TestApp, n: i32) -> Vec<String> {
    let client = app.db.client().await;
    client
        .execute(
            "INSERT INTO users (clerk_user_id, email) \
             SELECT 'user_' || lpad(i::text, 6, '0'), 'u' || i || '@example.com' \
             FROM generate_series(1, $1) AS i",
            &[&n],
        )
        .await
        .unwrap();
    let mut ids: Vec<String> = (1..=n).map(|i| format!("user_{i:06}")).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn streams_every_id_in_order_as_a_chunked_body() {
    let app = TestApp::spawn().await;
    let expected = seed(&app, 20_000).await;
    for prefix in ["", "/api"] {
        let resp = app
            .http
            .get(app.url(&format!("{prefix}/user/list-users")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/json");
        // Streamed: the length is not known up front.
        assert!(resp.headers().get("content-length").is_none());
        assert_eq!(resp.headers()["transfer-encoding"], "chunked");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["success"], true);
        let ids: Vec<String> = serde_json::from_value(body["userIds"].clone()).unwrap();
        assert_eq!(ids, expected);
        assert!(body.get("nextCursor").is_none());
    }
}

#[tokio::test]
async fn empty_table_is_an_empty_list() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/user/list-users").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"success": true, "userIds": []}));
}

#[tokio::test]
async fn pages_walk_the_whole_list_exactly_once() {
    let app = TestApp::spawn().await;
    let expected = seed(&app, 2_500).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/user/list-users?limit=997&after={c}"),
            None => "/api/user/list-users?limit=997".to_string(),
        };
        let (status, body) = app.get(&path).await;
        assert_eq!(status, 200, "{body}");
        let ids: Vec<String> = serde_json::from_value(body["userIds"].clone()).unwrap();
        assert!(ids.len() <= 997);
        seen.extend(ids);
        pages += 1;
        match body["nextCursor"].as_str() {
            Some(next) => {
                assert_eq!(Some(next), seen.last().map(String::as_str));
                cursor = Some(next.to_owned());
            }
            None => {
                assert!(
                    body["nextCursor"].is_null(),
                    "nextCursor is present and null on the last page"
                );
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);

    // A page that ends exactly at the last id says there is no next page.
    let (_, body) = app
        .get("/user/list-users?limit=500&after=user_002000")
        .await;
    assert_eq!(body["userIds"].as_array().unwrap().len(), 500);
    assert!(body["nextCursor"].is_null());

    // `after` alone streams the rest.
    let (_, body) = app.get("/user/list-users?after=user_002498").await;
    assert_eq!(body["userIds"], json!(["user_002499", "user_002500"]));
}
