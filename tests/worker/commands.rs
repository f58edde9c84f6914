//! user-worker through the real broker and the real PostgreSQL: replies for every
//! outcome in both envelope forms, dead letters, a database outage, and the
//! orchestrators' own Kafka client. Unusual shapes: `delivery.rs`.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::kafka::{InProcessWorker, Topics};
use crate::common::{Proxy, TestDb};
use serde_json::json;

pub(crate) async fn seeded_db() -> TestDb {
    let db = TestDb::create_migrated().await;
    db.insert_paid_user("user_paid").await;
    db.client()
        .await
        .batch_execute(
            "INSERT INTO users (clerk_user_id, email) VALUES ('user_nocus', 'nocus@example.com'); \
             INSERT INTO users (clerk_user_id, email, stripe_customer_id) VALUES ('user_nocard', 'nocard@example.com', 'cus_nocard');",
        )
        .await
        .unwrap();
    db
}

pub(crate) const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_for_every_outcome_in_both_envelope_forms() {
    let db = seeded_db().await;
    let Some(topics) = Topics::create(6).await else {
        return;
    };
    let worker = InProcessWorker::start(&db.url(), topics.settings());

    topics.send_command("c-paid", "user_paid").await;
    topics.send_command("c-nocus", "user_nocus").await;
    topics
        .send_raw(
            "user_nocard",
            br#"{"type":"get_payment_info","user_id":"user_nocard","correlation_id":"c-nocard"}"#,
        )
        .await;
    topics
        .send_raw("x", br#"{"type":"get_payment_info","payload":{"user_id":"user_ghost","correlation_id":"c-ghost"}}"#)
        .await;
    topics.send_command("c-badid", "not a user id").await;

    let expected: Vec<String> = ["c-paid", "c-nocus", "c-nocard", "c-ghost", "c-badid"]
        .map(String::from)
        .to_vec();
    let replies = topics.replies_for(&expected, WAIT).await;
    let by_key: HashMap<String, serde_json::Value> = replies
        .iter()
        .map(|r| (r.key.clone().unwrap(), r.json()))
        .collect();
    assert_eq!(by_key.len(), 5, "{replies:?}");

    let paid = &by_key["c-paid"];
    assert_eq!(paid["type"], "user.payment_info_retrieved");
    assert_eq!(paid["correlation_id"], "c-paid");
    assert_eq!(paid["source"], "user-service");
    assert_eq!(
        paid["payload"],
        json!({"payment_info": {"stripeCustomerId": "cus_paid", "paymentMethodId": "pm_paid"},
               "user_id": "user_paid"})
    );
    let ts = paid["timestamp"].as_str().unwrap();
    let parsed = chrono::DateTime::parse_from_rfc3339(ts).expect("RFC 3339");
    assert_eq!(parsed.offset().local_minus_utc(), 0, "UTC");
    assert!(ts.ends_with('Z'));

    for (key, error, user) in [
        (
            "c-nocus",
            "Stripe customer ID not configured for user",
            "user_nocus",
        ),
        (
            "c-nocard",
            "Default payment method not set for user",
            "user_nocard",
        ),
        ("c-ghost", "User not found", "user_ghost"),
        ("c-badid", "User not found", "not a user id"),
    ] {
        assert_eq!(by_key[key]["type"], "user.payment_info_failed", "{key}");
        assert_eq!(
            by_key[key]["payload"],
            json!({"error": error, "user_id": user}),
            "{key}: the reply echoes the user it is about"
        );
        assert_eq!(by_key[key]["correlation_id"], key);
    }

    for r in &replies {
        let body = r.json();
        assert_eq!(r.headers["type"], body["type"].as_str().unwrap());
        assert_eq!(
            r.headers["correlation_id"],
            body["correlation_id"].as_str().unwrap()
        );
        assert_eq!(r.headers["source"], "user-service");
        assert_eq!(r.headers["content-type"], "application/json");
    }
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_are_dead_lettered_and_the_next_command_is_answered() {
    let db = seeded_db().await;
    let Some(topics) = Topics::create(1).await else {
        return;
    };
    let worker = InProcessWorker::start(&db.url(), topics.settings());

    let poison: Vec<(&str, Vec<u8>)> = vec![
        ("not_json", b"\x00\x01 definitely not json".to_vec()),
        ("not_an_object", b"[1, 2, 3]".to_vec()),
        (
            "missing_correlation_id",
            br#"{"type":"get_payment_info","payload":{"user_id":"user_paid"}}"#.to_vec(),
        ),
        (
            "missing_user_id",
            br#"{"type":"get_payment_info","correlation_id":"c-nouser"}"#.to_vec(),
        ),
        (
            "unknown_type",
            br#"{"type":"delete_everything","correlation_id":"c-unknown","payload":{}}"#.to_vec(),
        ),
    ];
    for (_, bytes) in &poison {
        topics.send_raw("poison", bytes).await;
    }
    for i in 0..50 {
        topics
            .send_raw("burst", format!("garbage {i}").as_bytes())
            .await;
    }
    topics.send_command("c-after", "user_paid").await;

    let replies = topics.replies_for(&["c-after".to_string()], WAIT).await;
    assert_eq!(
        replies.len(),
        1,
        "only the good command is answered: {replies:?}"
    );
    assert_eq!(replies[0].json()["type"], "user.payment_info_retrieved");

    let dlq = topics
        .read_until(&topics.dlq.clone(), WAIT, |rs| rs.len() >= 55)
        .await;
    assert_eq!(dlq.len(), 55);
    for (i, (reason, bytes)) in poison.iter().enumerate() {
        assert_eq!(dlq[i].payload, *bytes, "original bytes kept");
        assert_eq!(dlq[i].key.as_deref(), Some("poison"));
        assert_eq!(dlq[i].headers["x-dlq-reason"], *reason);
        assert_eq!(dlq[i].headers["x-dlq-source-topic"], topics.commands);
        assert_eq!(dlq[i].headers["x-dlq-source-partition"], "0");
        assert_eq!(dlq[i].headers["x-dlq-source-offset"], i.to_string());
    }
    assert!(
        dlq[5..]
            .iter()
            .all(|r| r.headers["x-dlq-reason"] == "not_json")
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_mid_stream_sends_no_failed_replies() {
    let db = seeded_db().await;
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let Some(topics) = Topics::create(6).await else {
        return;
    };
    let worker = InProcessWorker::start(&db.url_via(proxy.addr()), topics.settings());

    let first: Vec<String> = (0..20).map(|i| format!("before-{i}")).collect();
    for c in &first {
        topics.send_command(c, "user_paid").await;
    }
    assert_eq!(topics.replies_for(&first, WAIT).await.len(), 20);

    proxy.cut();
    let during: Vec<String> = (0..30).map(|i| format!("during-{i}")).collect();
    for c in &during {
        topics.send_command(c, "user_paid").await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let while_down = topics
        .read_until(&topics.events.clone(), Duration::from_secs(5), |rs| {
            rs.len() > 20
        })
        .await;
    assert_eq!(
        while_down.len(),
        20,
        "nothing is answered while the database is down"
    );

    proxy.restore();
    let all: Vec<String> = first.iter().chain(&during).cloned().collect();
    let replies = topics.replies_for(&all, Duration::from_secs(60)).await;
    let answered: std::collections::HashSet<_> =
        replies.iter().filter_map(|r| r.key.clone()).collect();
    assert!(
        all.iter().all(|c| answered.contains(c)),
        "every command answered after recovery"
    );
    assert!(
        replies
            .iter()
            .all(|r| r.json()["type"] == "user.payment_info_retrieved"),
        "no failed reply caused by the outage"
    );
    worker.stop().await;
}

/// The create-order orchestrator's own Kafka client (kafka-python 2.0.2, driven
/// by tests/clients/create_order_orchestrator.py the way its KafkaClient sends
/// and reads) against the worker: a user who added a card through the API
/// (Stripe double), one with a customer but no card, and an unknown user,
/// hundreds of commands, each answered with what the orchestrator reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orchestrators_kafka_client_gets_an_answer_for_every_command() {
    use crate::common::stripe::{SECRET, StripeDouble};
    use crate::common::{Options, TestApp};
    use userlib::config::PaymentsSettings;

    let Some(python) = crate::common::real_client("KAFKA_PYTHON", &[]) else {
        return;
    };
    let double = StripeDouble::start().await;
    double.mount_creations().await;
    double.mount_payment_method("pm_card_visa").await;
    let app = TestApp::spawn_with(Options {
        payments: userlib::payments::from_settings(&PaymentsSettings::stripe(
            SECRET,
            &double.server.uri(),
        ))
        .unwrap(),
        ..Default::default()
    })
    .await;
    for id in ["user_payer", "user_cardless"] {
        app.sync_user(id, &format!("{id}@example.com")).await;
    }
    let (status, body) = app
        .post_json(
            "/api/user/user_payer/payment-methods",
            &json!({"payment_method_id": "pm_card_visa"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let customer = |id: &str| {
        let app = &app;
        let id = id.to_owned();
        async move {
            app.row(&id).await.unwrap()["stripe_customer_id"]
                .as_str()
                .expect("sync created a customer")
                .to_owned()
        }
    };
    let payer_customer = customer("user_payer").await;
    customer("user_cardless").await;

    let Some(topics) = Topics::create(6).await else {
        return;
    };
    let worker = InProcessWorker::start(&app.db.url(), topics.settings());
    let users = ["user_payer", "user_cardless", "user_unknown"];
    let commands: Vec<(String, &str)> = (0..300)
        .map(|i| (uuid::Uuid::new_v4().to_string(), users[i % users.len()]))
        .collect();

    let mut child = tokio::process::Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/create_order_orchestrator.py"
        ))
        .args([
            &crate::common::kafka::bootstrap(),
            &topics.commands,
            &topics.events,
            &format!("create-order-saga-orchestrator-{}", topics.group),
            "60",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the orchestrator client runs");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(&serde_json::to_vec(&commands).unwrap())
            .await
            .unwrap();
    }
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the orchestrator client finishes")
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: HashMap<String, Vec<serde_json::Value>> =
        serde_json::from_slice(&out.stdout).expect("the client prints its replies");
    for (correlation_id, user) in &commands {
        let replies = seen
            .get(correlation_id)
            .unwrap_or_else(|| panic!("no reply for {correlation_id} ({user})"));
        for reply in replies {
            // What the orchestrator reads, plus the echoed user id it ignores.
            let want = match *user {
                "user_payer" => json!({
                    "type": "user.payment_info_retrieved",
                    "payload": {"payment_info": {
                        "stripeCustomerId": payer_customer, "paymentMethodId": "pm_card_visa"},
                        "user_id": user}}),
                "user_cardless" => json!({
                    "type": "user.payment_info_failed",
                    "payload": {"error": "Default payment method not set for user", "user_id": user}}),
                _ => json!({
                    "type": "user.payment_info_failed",
                    "payload": {"error": "User not found", "user_id": user}}),
            };
            assert_eq!(*reply, want, "{correlation_id} ({user})");
        }
    }
    worker.stop().await;
}
