//! The cut-over rules, one row at a time.

use super::clean::*;

fn row(id: &str) -> LegacyRow {
    let t = chrono::NaiveDate::from_ymd_opt(2025, 4, 1)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap();
    LegacyRow {
        clerk_user_id: id.into(),
        username: Some("ann".into()),
        email: "ann@example.com".into(),
        first_name: "Ann".into(),
        last_name: "Lee".into(),
        phone_number: Some("".into()),
        user_stripe_card: None,
        customer_rating: "4.5".into(),
        runner_rating: "5.0".into(),
        stripe_customer_id: Some("cus_1".into()),
        stripe_connect_account_id: None,
        created_at: t,
        updated_at: t,
    }
}

fn rules(c: &Cleaned) -> Vec<(Rule, Action)> {
    c.findings.iter().map(|f| (f.rule, f.action)).collect()
}

#[test]
fn a_clean_row_passes_unchanged_and_unreported() {
    let c = clean(row("user_1"), &[]);
    assert!(c.findings.is_empty());
    let u = c.user.unwrap();
    assert_eq!(u.customer_rating.value(), 4.5);
    assert_eq!(u.phone_number, None, "\"\" is none, as in the API");
    assert_eq!(u.updated_at.to_rfc3339(), "2025-04-01T10:00:00+00:00");
}

#[test]
fn bad_ratings_are_reset_and_reported_with_their_value() {
    for bad in [
        "-7",
        "NaN",
        "Infinity",
        "-Infinity",
        &"1".repeat(309),
        "5.01",
    ] {
        let mut r = row("user_1");
        r.runner_rating = bad.to_string();
        let c = clean(r, &[]);
        assert_eq!(
            rules(&c),
            [(Rule::RunnerRatingOutOfRange, Action::ResetTo5)]
        );
        assert_eq!(
            c.findings[0].detail.as_deref(),
            Some(&*format!("was {bad}"))
        );
        assert_eq!(c.user.unwrap().runner_rating.value(), 5.0);
    }
}

#[test]
fn cards_placeholder_malformed_and_good() {
    let good = r#"{"payment_method_id":"pm_1","brand":"visa","last4":"4242","exp_month":12,"exp_year":2030,"updated_at":"2025-04-02T08:00:00.123456+00:00"}"#;
    let mut r = row("user_1");
    r.user_stripe_card = Some(good.into());
    let c = clean(r, &[]);
    assert!(c.findings.is_empty());
    let (card, at) = c.user.unwrap().card.unwrap();
    assert_eq!((card.brand(), card.exp_year()), ("visa", 2030));
    assert_eq!(at.to_rfc3339(), "2025-04-02T08:00:00.123456+00:00");

    let placeholder = r#"{"payment_method_id":"pm_1","last4":"4242","brand":"Visa","exp_month":"12","exp_year":"2025"}"#;
    for (json, rule) in [
        (placeholder, Rule::CardPlaceholder),
        ("{not json", Rule::CardMalformed),
        ("[1]", Rule::CardMalformed),
        (
            r#"{"last4":"1234","brand":"visa","exp_month":"1","exp_year":"2030","token":"tok"}"#,
            Rule::CardMalformed,
        ),
        (
            r#"{"payment_method_id":"pm_1","brand":"visa","last4":"42","exp_month":1,"exp_year":2030}"#,
            Rule::CardMalformed,
        ),
    ] {
        let mut r = row("user_1");
        r.user_stripe_card = Some(json.into());
        let c = clean(r, &[]);
        assert_eq!(rules(&c), [(rule, Action::CardDropped)], "{json}");
        assert!(c.user.unwrap().card.is_none(), "{json}");
    }
}

#[test]
fn bad_ids_and_emails_skip_the_row_and_collisions_are_reported() {
    let c = clean(row("user 1/evil"), &[]);
    assert_eq!(rules(&c), [(Rule::InvalidId, Action::Skipped)]);
    assert!(c.user.is_none());
    let mut r = row("user_1");
    r.email = "not-an-email".into();
    assert_eq!(
        rules(&clean(r, &[])),
        [(Rule::InvalidEmail, Action::Skipped)]
    );
    let c = clean(row("user_1"), &[(Collision::Email, "user_2".into())]);
    assert_eq!(rules(&c), [(Rule::EmailCollision, Action::Skipped)]);
    assert!(c.findings[0].detail.as_ref().unwrap().contains("user_2"));
    let c = clean(row("user_1"), &[(Collision::Username, "user_2".into())]);
    assert_eq!(rules(&c), [(Rule::UsernameCollision, Action::Cleared)]);
    assert_eq!(c.user.unwrap().username, None);
}

#[test]
fn bad_profile_fields_are_cleared() {
    let mut r = row("user_1");
    r.username = Some("has space".into());
    r.first_name = "x".repeat(101);
    r.phone_number = Some("call me".into());
    r.stripe_connect_account_id = Some("not_acct".into());
    let c = clean(r, &[]);
    assert_eq!(
        rules(&c),
        [
            (Rule::InvalidUsername, Action::Cleared),
            (Rule::InvalidFirstName, Action::Cleared),
            (Rule::InvalidPhone, Action::Cleared),
            (Rule::InvalidConnectAccountId, Action::Cleared),
        ]
    );
    let u = c.user.unwrap();
    assert_eq!((u.username, u.first_name.as_str()), (None, ""));
}
