//! The cut-over's rules: one legacy row in, a user our domain types accept out,
//! and a finding for every value that had to be rejected or changed. Nothing is
//! fixed silently; every decision below is listed in the report.
//!
//! Why these decisions:
//! * **Ratings** outside 0–5 or not finite (the old API stored `-7`, `1e308`,
//!   `NaN`, `Infinity`) are reset to 5.0, the value every new user starts with.
//!   No real rating produced them, so clamping would turn garbage into a signal
//!   (`1e308` a perfect 5, `-7` a worst 0), and skipping would lose an account
//!   over a cosmetic field. The report keeps the original value.
//! * **Profile fields** (names, username, phone) that fail our rules are cleared:
//!   Clerk owns them and the next sign-in sync or Clerk webhook writes them again.
//!   `""` for phone or username is "none", as in the API (not reported).
//! * **Cards** that are malformed, or the `4242`/`Visa` placeholder the old code
//!   invented when Stripe failed (Stripe itself never capitalises a brand), are
//!   dropped and the user kept: a card we cannot vouch for must not reach an
//!   orchestrator as the user's payment method.
//! * A row whose **id** or **email** fails our rules cannot be a user here and is
//!   skipped; so is the older of two rows whose emails differ only in case.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::domain::{
    CardDetails, ClerkUserId, ConnectAccountId, CustomerId, Email, ImportedUser, PaymentMethodId,
    PersonName, PhoneNumber, Rating, Username,
};

/// A row of the legacy `users` table, as read (numeric ratings as text, so
/// `NaN` and `Infinity` survive the trip; the card JSON as text).
#[derive(Debug, Clone, Default)]
pub struct LegacyRow {
    pub clerk_user_id: String,
    pub username: Option<String>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: Option<String>,
    pub user_stripe_card: Option<String>,
    pub customer_rating: String,
    pub runner_rating: String,
    pub stripe_customer_id: Option<String>,
    pub stripe_connect_account_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Which rule a value broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    InvalidId,
    InvalidEmail,
    EmailCollision,
    EmailTaken,
    UsernameCollision,
    UsernameTaken,
    InvalidUsername,
    InvalidFirstName,
    InvalidLastName,
    InvalidPhone,
    CustomerRatingOutOfRange,
    RunnerRatingOutOfRange,
    CardMalformed,
    CardPlaceholder,
    InvalidStripeCustomerId,
    InvalidConnectAccountId,
    /// The user was deleted in Clerk (our tombstone) after the snapshot.
    DeletedUser,
    /// Leading or trailing whitespace around a value (`detail` names the field).
    WhitespaceTrimmed,
}

/// What the import did about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The row was not imported.
    Skipped,
    /// The field was left empty.
    Cleared,
    /// The rating was set to 5.0.
    ResetTo5,
    /// The card was not imported; the user was.
    CardDropped,
    /// Stored without the surrounding whitespace.
    Trimmed,
}

impl Action {
    pub fn describe(self) -> &'static str {
        match self {
            Action::Skipped => "row skipped",
            Action::Cleared => "field cleared",
            Action::ResetTo5 => "reset to 5.0",
            Action::CardDropped => "card dropped, user kept",
            Action::Trimmed => "whitespace trimmed",
        }
    }
}

/// One line of the report. `detail` never holds personal data (no emails,
/// names or phone numbers): an original rating, a card's problem, or the id of
/// the row that won a collision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub clerk_user_id: String,
    pub rule: Rule,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Rows that lose a case-insensitive collision to another legacy row (found
/// over the whole snapshot before streaming), with the winner's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collision {
    Email,
    Username,
}

/// The outcome for one row: the user to import (if any) and its findings.
pub struct Cleaned {
    pub user: Option<ImportedUser>,
    pub findings: Vec<Finding>,
}

/// The findings of one row as they are made.
struct Notes {
    id: String,
    findings: Vec<Finding>,
}

impl Notes {
    fn add(&mut self, rule: Rule, action: Action, detail: Option<String>) {
        self.findings.push(Finding {
            clerk_user_id: self.id.clone(),
            rule,
            action,
            detail,
        });
    }

    fn skip(mut self, rule: Rule, detail: Option<String>) -> Cleaned {
        self.add(rule, Action::Skipped, detail);
        Cleaned {
            user: None,
            findings: self.findings,
        }
    }

    /// `value` if it passed its rule, else a cleared field and a finding.
    fn or_cleared<T, E>(&mut self, value: Result<Option<T>, E>, rule: Rule) -> Option<T> {
        value.unwrap_or_else(|_| {
            self.add(rule, Action::Cleared, None);
            None
        })
    }

    fn name(&mut self, raw: &str, field: &str, rule: Rule) -> PersonName {
        PersonName::parse(raw, field).unwrap_or_else(|_| {
            self.add(rule, Action::Cleared, None);
            PersonName::default()
        })
    }

    fn rating(&mut self, raw: &str, rule: Rule) -> Rating {
        match parse_numeric(raw).and_then(|v| Rating::parse(v).ok()) {
            Some(rating) => rating,
            None => {
                self.add(rule, Action::ResetTo5, Some(format!("was {raw}")));
                Rating::parse(5.0).expect("5.0 is a rating")
            }
        }
    }
}

/// Applies every rule to `row`. `lost` lists the collisions this row lost, with
/// the id of the row that kept the value.
pub fn clean(row: LegacyRow, lost: &[(Collision, String)]) -> Cleaned {
    let mut notes = Notes {
        id: row.clerk_user_id.clone(),
        findings: Vec::new(),
    };
    let Ok(clerk_user_id) = ClerkUserId::parse(row.clerk_user_id.clone()) else {
        return notes.skip(Rule::InvalidId, None);
    };
    let Ok(email) = Email::parse(&row.email) else {
        return notes.skip(Rule::InvalidEmail, None);
    };
    // Our types trim; say so, so the report lists every value that changed.
    for (field, value) in [
        ("email", Some(row.email.as_str())),
        ("first_name", Some(row.first_name.as_str())),
        ("last_name", Some(row.last_name.as_str())),
        ("phone_number", row.phone_number.as_deref()),
    ] {
        if value.is_some_and(|v| !v.trim().is_empty() && v.trim() != v) {
            notes.add(
                Rule::WhitespaceTrimmed,
                Action::Trimmed,
                Some(field.to_owned()),
            );
        }
    }
    let winner = |kind: Collision| lost.iter().find(|(c, _)| *c == kind).map(|(_, w)| w);
    if let Some(winner) = winner(Collision::Email) {
        return notes.skip(
            Rule::EmailCollision,
            Some(format!("kept {winner}, updated more recently")),
        );
    }
    let username = match winner(Collision::Username) {
        Some(winner) => {
            notes.add(
                Rule::UsernameCollision,
                Action::Cleared,
                Some(format!("kept by {winner}, updated more recently")),
            );
            None
        }
        None => notes.or_cleared(
            Username::parse_optional(row.username.as_deref()),
            Rule::InvalidUsername,
        ),
    };
    let first_name = notes.name(&row.first_name, "first_name", Rule::InvalidFirstName);
    let last_name = notes.name(&row.last_name, "last_name", Rule::InvalidLastName);
    let phone_number = notes.or_cleared(
        PhoneNumber::parse_optional(row.phone_number.as_deref()),
        Rule::InvalidPhone,
    );
    let customer_rating = notes.rating(&row.customer_rating, Rule::CustomerRatingOutOfRange);
    let runner_rating = notes.rating(&row.runner_rating, Rule::RunnerRatingOutOfRange);
    let stripe_customer_id = notes.or_cleared(
        // It ends up in Stripe's URL paths (`/v1/customers/{id}`).
        match row.stripe_customer_id.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(c) => CustomerId::parse(c).map(|c| Some(c.as_str().to_owned())),
        },
        Rule::InvalidStripeCustomerId,
    );
    let stripe_connect_account_id = notes.or_cleared(
        match row.stripe_connect_account_id.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(a) => ConnectAccountId::parse(a).map(Some),
        },
        Rule::InvalidConnectAccountId,
    );
    let updated_at = utc(row.updated_at);
    let card = match row.user_stripe_card.as_deref().map(card) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some((details, at)))) => Some((details, at.unwrap_or(updated_at))),
        Some(Err((rule, why))) => {
            notes.add(rule, Action::CardDropped, Some(why.to_owned()));
            None
        }
    };
    Cleaned {
        user: Some(ImportedUser {
            clerk_user_id,
            username,
            email,
            first_name,
            last_name,
            phone_number,
            customer_rating,
            runner_rating,
            stripe_customer_id,
            stripe_connect_account_id,
            card,
            created_at: utc(row.created_at),
            updated_at,
        }),
        findings: notes.findings,
    }
}

/// The legacy columns are `timestamp without time zone`, UTC by convention.
fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// PostgreSQL's text form of a `numeric`: digits, or `NaN`/`Infinity`.
fn parse_numeric(raw: &str) -> Option<f64> {
    raw.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

type CardResult = Result<Option<(CardDetails, Option<DateTime<Utc>>)>, (Rule, &'static str)>;

/// The legacy card JSON as the old code wrote it: `payment_method_id`, `brand`,
/// `last4`, `exp_month`, `exp_year` (numbers, as Stripe returns them),
/// `updated_at` (ISO 8601 with offset; the row's `updated_at` when absent).
fn card(json: &str) -> CardResult {
    let malformed = |why| Err((Rule::CardMalformed, why));
    let Ok(value) = serde_json::from_str::<Value>(json) else {
        return malformed("not JSON");
    };
    let obj = match value {
        Value::Null => return Ok(None),
        Value::Object(obj) => obj,
        _ => return malformed("not a JSON object"),
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str);
    // The old code's fallback when Stripe failed: a card Stripe never described.
    if text("last4") == Some("4242") && text("brand") == Some("Visa") {
        return Err((Rule::CardPlaceholder, "the 4242/Visa placeholder"));
    }
    let Some(pm) = text("payment_method_id") else {
        return malformed("no payment_method_id");
    };
    let Ok(pm) = PaymentMethodId::parse(pm, "payment_method_id") else {
        return malformed("payment_method_id is not a pm_ id");
    };
    let (Some(brand), Some(last4)) = (text("brand"), text("last4")) else {
        return malformed("brand or last4 missing");
    };
    let number = |k: &str| obj.get(k).and_then(Value::as_i64);
    let (Some(month), Some(year)) = (number("exp_month"), number("exp_year")) else {
        return malformed("exp_month or exp_year is not a number");
    };
    let Ok(details) = CardDetails::new(pm, brand, last4, month, year) else {
        return malformed("a field is out of range");
    };
    let at = text("updated_at")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(Some((details, at)))
}
