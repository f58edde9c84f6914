//! Cut-over from the Flask service (`user-api import-legacy`) against a real
//! PostgreSQL: a legacy database with the original's DDL (in our own words,
//! from its SQLAlchemy model and Alembic migrations), thousands of clean rows
//! and one poisoned row per rule; every clean row must read back through the
//! API as the old `to_dict` showed it, every poisoned row must be in the report
//! with its rule, a re-run must bring exactly the changes, and the legacy
//! database must be left byte for byte as it was.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::{TestApp, TestDb};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};
use userlib::config::DatabaseSettings;
use userlib::db::Repository;
use userlib::legacy::{ImportOptions, Summary, import};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_user-api");
const CLEAN_ROWS: i32 = 2000;

/// The Flask service's schema (tests/fixtures/legacy_schema.sql).
const LEGACY_DDL: &str = include_str!("../fixtures/legacy_schema.sql");

/// Clean rows as the old API wrote them: `''` phones from the frontend, cards
/// from Stripe (lowercase brands, numeric expiry, ISO `updated_at` with offset).
const CLEAN: &str = "
INSERT INTO users
SELECT format('user_clean%s', lpad(i::text, 5, '0')),
       CASE WHEN i % 7 = 0 THEN NULL ELSE format('runner%s', i) END,
       format('Person%s@Example.com', i),
       format('First%s', i), format('Last%s', i),
       CASE WHEN i % 3 = 0 THEN '' WHEN i % 3 = 1 THEN format('+65 9%s', lpad(i::text, 7, '0')) END,
       CASE WHEN i % 4 = 0 THEN jsonb_build_object(
              'payment_method_id', format('pm_clean%s', i),
              'brand', CASE WHEN i % 8 = 0 THEN 'visa' ELSE 'mastercard' END,
              'last4', lpad((i % 10000)::text, 4, '0'),
              'exp_month', 1 + i % 12, 'exp_year', 2030,
              'updated_at', '2025-04-02T08:00:00.123456+00:00') END,
       ((i % 51) / 10.0)::numeric, 4.5,
       CASE WHEN i % 2 = 0 THEN format('cus_clean%s', i) END,
       CASE WHEN i % 5 = 0 THEN format('acct_clean%s', i) END,
       timestamp '2025-01-01 09:00:00' + make_interval(mins => i),
       timestamp '2025-03-01 12:30:00.25' + make_interval(mins => i)
FROM generate_series(1, $1) AS i";

/// One row per rule (id, what is wrong with it).
const POISONED: &str = include_str!("../fixtures/legacy_poisoned_rows.sql");

/// (id, rule, action) the report must hold, and nothing else.
const EXPECTED_FINDINGS: [(&str, &str, &str); 17] = [
    ("user bad/id", "invalid_id", "skipped"),
    ("user_bad_email", "invalid_email", "skipped"),
    ("user_dup_old", "email_collision", "skipped"),
    ("user_un_old", "username_collision", "cleared"),
    ("user_rate_neg", "customer_rating_out_of_range", "reset_to5"),
    ("user_rate_huge", "runner_rating_out_of_range", "reset_to5"),
    ("user_rate_nan", "customer_rating_out_of_range", "reset_to5"),
    ("user_rate_inf", "runner_rating_out_of_range", "reset_to5"),
    ("user_card_fake", "card_placeholder", "card_dropped"),
    ("user_card_bad", "card_malformed", "card_dropped"),
    ("user_card_str", "card_malformed", "card_dropped"),
    ("user_bad_username", "invalid_username", "cleared"),
    ("user_bad_phone", "invalid_phone", "cleared"),
    ("user_bad_name", "invalid_first_name", "cleared"),
    ("user_bad_acct", "invalid_connect_account_id", "cleared"),
    ("user_bad_cus", "invalid_stripe_customer_id", "cleared"),
    ("user_trim", "whitespace_trimmed", "trimmed"),
];

/// Rows in `POISONED`: the two collision winners have no finding.
const POISONED_ROWS: u64 = 19;

pub(crate) async fn legacy_db() -> TestDb {
    let db = TestDb::create().await;
    let client = db.client().await;
    client.batch_execute(LEGACY_DDL).await.unwrap();
    client.execute(CLEAN, &[&CLEAN_ROWS]).await.unwrap();
    client.batch_execute(POISONED).await.unwrap();
    db
}

/// Every byte a reader can see of the legacy database.
pub(crate) async fn fingerprint(db: &TestDb) -> String {
    db.client()
        .await
        .query_one(
            "SELECT md5(string_agg(t, '|')) FROM ( \
               (SELECT u::text AS t FROM users u ORDER BY clerk_user_id) \
               UNION ALL (SELECT a::text FROM alembic_version a)) x",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

pub(crate) fn report_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "userlib-import-{tag}-{}.jsonl",
        uuid::Uuid::new_v4().simple()
    ))
}

pub(crate) async fn run(legacy: &TestDb, target: Option<&TestDb>, report: &Path) -> Summary {
    let repo = target.map(|t| {
        let settings = DatabaseSettings::new(&t.url()).unwrap();
        Repository::connect(&settings).unwrap()
    });
    import(
        &ImportOptions {
            legacy_url: legacy.url(),
            dry_run: target.is_none(),
            report_path: report.to_path_buf(),
        },
        repo.as_ref(),
    )
    .await
    .expect("import runs")
}

/// (read, inserted, updated, unchanged, skipped)
fn counts(s: &Summary) -> (u64, u64, u64, u64, u64) {
    (s.read, s.inserted, s.updated, s.unchanged, s.skipped)
}

pub(crate) fn findings(report: &Path) -> BTreeSet<(String, String, String)> {
    std::fs::read_to_string(report)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("one JSON object per line");
            (
                v["clerk_user_id"].as_str().unwrap().to_owned(),
                v["rule"].as_str().unwrap().to_owned(),
                v["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn expected_findings() -> BTreeSet<(String, String, String)> {
    EXPECTED_FINDINGS
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

/// What the old service's `User.to_dict(include_payment_details=True)` showed
/// for a legacy row, with timestamps turned into instants (it printed naive
/// UTC; we print RFC 3339 with `Z`).
fn old_to_dict(row: &tokio_postgres::Row) -> Value {
    let utc = |i: usize| row.get::<_, NaiveDateTime>(i).and_utc().to_rfc3339();
    let mut card: Option<Value> = row
        .get::<_, Option<String>>("user_stripe_card")
        .map(|t| serde_json::from_str(&t).unwrap());
    if let Some(c) = card.as_mut() {
        let at = DateTime::parse_from_rfc3339(c["updated_at"].as_str().unwrap()).unwrap();
        c["updated_at"] = json!(at.with_timezone(&Utc).to_rfc3339());
    }
    let phone: Option<String> = row.get("phone_number");
    let mut user = json!({
        "clerkUserId": row.get::<_, String>("clerk_user_id"),
        "username": row.get::<_, Option<String>>("username"),
        "email": row.get::<_, String>("email"),
        "firstName": row.get::<_, String>("first_name"),
        "lastName": row.get::<_, String>("last_name"),
        // The one normalisation: `''` is "no phone", as the API has always stored it.
        "phoneNumber": phone.filter(|p| !p.is_empty()),
        "customerRating": row.get::<_, f64>("customer_rating"),
        "runnerRating": row.get::<_, f64>("runner_rating"),
        "stripeCustomerId": row.get::<_, Option<String>>("stripe_customer_id"),
        "stripeConnectAccountId": row.get::<_, Option<String>>("stripe_connect_account_id"),
        "createdAt": utc(11),
        "updatedAt": utc(12),
    });
    if let Some(card) = card {
        user["userStripeCard"] = card;
    }
    user
}

/// Our answer with its timestamps turned into the same instants.
fn normalised(mut user: Value) -> Value {
    for key in ["createdAt", "updatedAt"] {
        let t = DateTime::parse_from_rfc3339(user[key].as_str().unwrap()).unwrap();
        user[key] = json!(t.with_timezone(&Utc).to_rfc3339());
    }
    if let Some(card) = user.get_mut("userStripeCard") {
        let t = DateTime::parse_from_rfc3339(card["updated_at"].as_str().unwrap()).unwrap();
        card["updated_at"] = json!(t.with_timezone(&Utc).to_rfc3339());
    }
    user
}

/// Every clean row (`except` those the test made unclean) reads back through
/// the API as the old service showed it.
async fn assert_clean_rows_read_back_as_before(legacy: &TestDb, app: &TestApp, except: &[&str]) {
    let rows = legacy
        .client()
        .await
        .query(
            "SELECT clerk_user_id, username, email, first_name, last_name, phone_number, \
               user_stripe_card::text, customer_rating::float8 AS customer_rating, \
               runner_rating::float8 AS runner_rating, stripe_customer_id, \
               stripe_connect_account_id, created_at, updated_at \
             FROM users WHERE clerk_user_id LIKE 'user_clean%' AND clerk_user_id <> ALL($1) \
             ORDER BY clerk_user_id",
            &[&except],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), CLEAN_ROWS as usize - except.len());
    for row in &rows {
        let want = old_to_dict(row);
        let id = want["clerkUserId"].as_str().unwrap();
        let (status, body) = app.get(&format!("/api/user/{id}")).await;
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(normalised(body["user"].clone()), want, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flask_users_arrive_cleaned_reported_and_a_rerun_brings_exactly_the_changes() {
    let legacy = legacy_db().await;
    let untouched = fingerprint(&legacy).await;
    let app = TestApp::spawn().await;
    let total = CLEAN_ROWS as u64 + POISONED_ROWS;

    // A dry run writes only the report.
    let dry = report_path("dry");
    let summary = run(&legacy, None, &dry).await;
    assert_eq!(app.count_users().await, 0, "a dry run writes nothing");
    assert_eq!(
        (summary.read, summary.importable, summary.skipped),
        (total, total - 3, 3)
    );
    assert_eq!(findings(&dry), expected_findings());

    // The first run.
    let first = report_path("first");
    let summary = run(&legacy, Some(&app.db), &first).await;
    assert_eq!(counts(&summary), (total, total - 3, 0, 0, 3), "{summary}");
    assert!(summary.rejected_anything());
    assert_eq!(findings(&first), expected_findings());
    let text = summary.to_string();
    assert!(
        text.contains("card_placeholder") && text.contains("card dropped, user kept"),
        "{text}"
    );
    assert_eq!(app.count_users().await as u64, total - 3);
    assert_eq!(
        app.db.directory_outbox_len().await,
        total - 3,
        "every imported user is in the directory's outbox, once"
    );
    assert_clean_rows_read_back_as_before(&legacy, &app, &[]).await;

    // What each rule did to the row it kept.
    let user = |id: &'static str| {
        let app = &app;
        async move { app.get(&format!("/user/{id}")).await.1["user"].clone() }
    };
    assert_eq!(user("user_dup_new").await["email"], "dup@example.com");
    assert_eq!(app.get("/user/user_dup_old").await.0, 404);
    assert_eq!(user("user_un_new").await["username"], "runner");
    assert_eq!(user("user_un_old").await["username"], Value::Null);
    assert_eq!(user("user_rate_neg").await["customerRating"], 5.0);
    assert_eq!(user("user_rate_huge").await["runnerRating"], 5.0);
    let fake = user("user_card_fake").await;
    assert_eq!(
        fake.get("userStripeCard"),
        None,
        "no invented card reaches anyone"
    );
    assert_eq!(fake["stripeCustomerId"], "cus_fake", "the user is kept");
    assert_eq!(user("user_bad_name").await["firstName"], "");
    assert_eq!(
        user("user_bad_acct").await["stripeConnectAccountId"],
        Value::Null
    );
    assert_eq!(
        user("user_bad_cus").await["stripeCustomerId"],
        Value::Null,
        "an id that would leave its URL segment is never stored"
    );
    let trimmed = user("user_trim").await;
    assert_eq!(
        (
            &trimmed["email"],
            &trimmed["firstName"],
            &trimmed["phoneNumber"]
        ),
        (
            &json!("trim@example.com"),
            &json!("Tim"),
            &json!("+65 9123 4567")
        )
    );
    assert_eq!(
        fingerprint(&legacy).await,
        untouched,
        "the legacy database is only read"
    );

    // Changes in the legacy database between the runs: five updated rows (one
    // now with a placeholder card), two new users; the rest untouched.
    legacy
        .execute(
            "UPDATE users SET first_name = 'Renamed', updated_at = updated_at + interval '1 day' \
               WHERE clerk_user_id IN ('user_clean00010', 'user_clean00020', 'user_clean00030', 'user_clean00040'); \
             UPDATE users SET user_stripe_card = '{\"payment_method_id\": \"pm_x\", \"last4\": \"4242\", \"brand\": \"Visa\"}', \
               updated_at = updated_at + interval '1 day' WHERE clerk_user_id = 'user_clean00008'; \
             INSERT INTO users VALUES \
               ('user_late1', NULL, 'late1@example.com', 'L', 'One', NULL, NULL, 4, 4, NULL, NULL, now()::timestamp, now()::timestamp), \
               ('user_late2', 'late2', 'late2@example.com', 'L', 'Two', '+6590000000', NULL, 3, 3, NULL, NULL, now()::timestamp, now()::timestamp);",
        )
        .await;
    let changed = fingerprint(&legacy).await;
    let second = report_path("second");
    let summary = run(&legacy, Some(&app.db), &second).await;
    assert_eq!(
        counts(&summary),
        (total + 2, 2, 5, total - 3 - 5, 3),
        "{summary}"
    );
    let mut want = expected_findings();
    want.insert((
        "user_clean00008".into(),
        "card_placeholder".into(),
        "card_dropped".into(),
    ));
    assert_eq!(findings(&second), want);
    assert_eq!(user("user_clean00010").await["firstName"], "Renamed");
    assert_eq!(
        app.db.directory_outbox_len().await,
        total - 3 + 2 + 4,
        "a re-run enqueues the two new users and the four renamed, not the card change"
    );
    assert_eq!(user("user_clean00008").await.get("userStripeCard"), None);
    assert_eq!(user("user_late2").await["username"], "late2");
    assert_clean_rows_read_back_as_before(&legacy, &app, &["user_clean00008"]).await;
    assert_eq!(
        fingerprint(&legacy).await,
        changed,
        "the legacy database is only read"
    );

    // The binary: the same import, its summary on stdout, exit status 3 because
    // the report lists findings; a third run changes nothing.
    let report = report_path("bin");
    let out = tokio::process::Command::new(BIN)
        .args(["import-legacy", "--from", &legacy.url(), "--report"])
        .arg(&report)
        .env("DATABASE_URL", app.db.url())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "read {} legacy users; 0 inserted, 0 updated, {} unchanged, 3 skipped",
            total + 2,
            total - 1
        )),
        "{stdout}"
    );
    assert_eq!(findings(&report), want);
    for path in [dry, first, second, report] {
        let _ = std::fs::remove_file(path);
    }
}
