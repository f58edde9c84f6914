//! Two simultaneous first syncs of one new user: one row, two successful answers.

use crate::common::TestApp;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_first_syncs_make_one_row() {
    let app = TestApp::spawn().await;
    for round in 0..20 {
        let id = format!("user_race{round}");
        let body = json!({"clerk_user_id": id, "email": format!("race{round}@example.com"),
                          "first_name": "R", "last_name": "C", "phone_number": ""});
        let (a, b) = tokio::join!(
            app.post_json("/api/user/sync-from-frontend", &body),
            app.post_json("/api/user/sync-from-frontend", &body)
        );
        assert_eq!(a.0, 200, "{}", a.1);
        assert_eq!(b.0, 200, "{}", b.1);
        assert_eq!(a.1["success"], true);
        assert_eq!(b.1["success"], true);
        let created = [&a.1, &b.1].iter().filter(|r| r["created"] == true).count();
        assert_eq!(created, 1, "exactly one of the two created the user");
    }
    assert_eq!(app.count_users().await, 20);
}
