//! The payment routes of the seed, at the root and under `/api`, in the wire
//! format of docs/wire-compatibility.md: the stored card and both delete
//! routes, the Connect account, and 503 while payments are not configured.
//! Against Stripe itself: `payment_methods.rs`.

use super::routes::PREFIXES;
use crate::common::{TestApp, assert_error};
use serde_json::json;

#[tokio::test]
async fn payment_info_and_both_delete_routes() {
    let app = TestApp::spawn().await;
    app.sync_user("user_pay", "pay@example.com").await;
    for p in PREFIXES {
        for route in ["payment", "payment-methods"] {
            assert_error(&app.get(&format!("{p}/user/user_pay/payment")).await, 400);
            let before = app.snapshot().await;
            let missing = app.delete(&format!("{p}/user/user_pay/{route}")).await;
            assert_error(&missing, 400);
            assert_eq!(
                missing.1["message"], "User has no payment method to delete",
                "the running system's message"
            );
            assert_eq!(
                app.snapshot().await,
                before,
                "a refused delete changes nothing"
            );

            app.store_card("user_pay", "pm_abc").await;
            let (status, body) = app.get(&format!("{p}/user/user_pay/payment")).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                body["payment_info"],
                json!({"payment_method_id": "pm_abc", "last_four": "4242", "card_type": "visa",
                       "expiry_month": 12, "expiry_year": 2030})
            );
            let (status, body) = app.delete(&format!("{p}/user/user_pay/{route}")).await;
            assert_eq!((status, &body["success"]), (200, &json!(true)), "{body}");
            assert_eq!(
                app.row("user_pay").await.unwrap()["card_payment_method_id"],
                json!(null)
            );
            assert_error(
                &app.delete(&format!("{p}/user/user_nobody/{route}")).await,
                404,
            );
        }
        assert_error(
            &app.get(&format!("{p}/user/user_nobody/payment")).await,
            404,
        );
    }
}

#[tokio::test]
async fn connect_account_get_and_put() {
    let app = TestApp::spawn().await;
    app.sync_user("user_runner", "run@example.com").await;
    for (i, p) in PREFIXES.iter().enumerate() {
        let acct = format!("acct_{i}X");
        let (status, body) = app
            .put_json(
                &format!("{p}/user/user_runner/connect-account"),
                &json!({"stripe_connect_account_id": acct}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["user"],
            json!({"clerkUserId": "user_runner", "stripeConnectAccountId": acct})
        );
        let (status, body) = app
            .get(&format!("{p}/user/user_runner/connect-account"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({"success": true, "stripe_connect_account_id": acct})
        );
        assert_error(
            &app.get(&format!("{p}/user/user_nobody/connect-account"))
                .await,
            404,
        );
        assert_error(
            &app.put_json(
                &format!("{p}/user/user_nobody/connect-account"),
                &json!({"stripe_connect_account_id": "acct_1"}),
            )
            .await,
            404,
        );
    }
    app.sync_user("user_new", "new@example.com").await;
    let (_, body) = app.get("/api/user/user_new/connect-account").await;
    assert_eq!(
        body,
        json!({"success": true, "stripe_connect_account_id": null})
    );
}
#[tokio::test]
async fn payment_routes_answer_503_while_payments_are_not_configured() {
    let app = TestApp::spawn().await;
    app.sync_user("user_np", "np@example.com").await;
    app.store_card("user_np", "pm_before").await;
    let before = app.row("user_np").await;
    for p in PREFIXES {
        let put = app
            .put_json(
                &format!("{p}/user/user_np/payment"),
                &json!({"paymentMethodId": "pm_new"}),
            )
            .await;
        assert_error(&put, 503);
        assert_eq!(put.1["message"], "Payments are not configured");
        let post = app
            .post_json(
                &format!("{p}/user/user_np/payment-methods"),
                &json!({"payment_method_id": "pm_new"}),
            )
            .await;
        assert_error(&post, 503);
        assert_eq!(post.1["message"], "Payments are not configured");
        assert_eq!(
            post.1["description"], "Payments are not configured",
            "the original's key"
        );
    }
    assert_eq!(app.row("user_np").await, before);
}
