//! `get_payment_info`: parse the command, then answer a whole batch of them with
//! one use-case call (one database query), producing the replies the
//! orchestrators match by `correlation_id`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::Reply;
use crate::domain::ClerkUserId;
use crate::service::{PaymentInfo, PaymentInfoFailure, ServiceError, UserService};
use crate::worker::envelope::{Envelope, Malformed};

pub const TYPE: &str = "get_payment_info";
pub const RETRIEVED: &str = "user.payment_info_retrieved";
pub const FAILED: &str = "user.payment_info_failed";

/// No `user_id` at all: nothing to answer about (dead-lettered).
const MISSING_USER_ID: Malformed = Malformed::Invalid("missing_user_id");

/// A parsed `get_payment_info` command.
#[derive(Debug, Clone)]
pub struct GetPaymentInfo {
    pub correlation_id: String,
    /// `None` when the id cannot be a user id: it is answered "User not found"
    /// (the orchestrator is waiting for an answer) without asking the database.
    pub user_id: Option<ClerkUserId>,
    /// The id as the command sent it (at most 255 characters), echoed in the
    /// reply so a consumer can check the answer is about the user it asked for.
    pub requested: String,
}

impl GetPaymentInfo {
    pub fn parse(envelope: &Envelope) -> Result<Self, Malformed> {
        let raw = envelope
            .field("user_id")
            .filter(|u| !u.is_empty())
            .ok_or(MISSING_USER_ID)?;
        Ok(Self {
            correlation_id: envelope.correlation_id.clone(),
            requested: raw.chars().take(255).collect(),
            user_id: ClerkUserId::parse(raw).ok(),
        })
    }
}

/// Answers every command with one query for all their user ids. Replies come back
/// in the order of `commands`. A database failure answers nothing: the caller
/// retries the batch later (never a "failed" reply for a database blip).
pub async fn apply(
    service: &UserService,
    commands: &[&GetPaymentInfo],
    now: DateTime<Utc>,
) -> Result<Vec<Reply>, ServiceError> {
    let ids: Vec<ClerkUserId> = commands.iter().filter_map(|c| c.user_id.clone()).collect();
    let mut infos = service.payment_info_batch(&ids).await?.into_iter();
    let timestamp = now.to_rfc3339_opts(SecondsFormat::Micros, true);
    Ok(commands
        .iter()
        .map(|command| {
            let info = match command.user_id {
                Some(_) => infos.next().expect("one answer per id"),
                None => PaymentInfo::Failed(PaymentInfoFailure::UserNotFound),
            };
            render(command, &info, &timestamp)
        })
        .collect())
}

#[derive(Serialize)]
struct ReplyBody<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    correlation_id: &'a str,
    timestamp: &'a str,
    payload: Payload<'a>,
    source: &'static str,
}

/// `user_id` is an extra key the orchestrators ignore (they read
/// `payment_info` or `error`).
#[derive(Serialize)]
#[serde(untagged)]
enum Payload<'a> {
    Retrieved {
        payment_info: PaymentInfoWire<'a>,
        user_id: &'a str,
    },
    Failed {
        error: &'static str,
        user_id: &'a str,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaymentInfoWire<'a> {
    stripe_customer_id: &'a str,
    payment_method_id: &'a str,
}

/// The failure texts the original service sends (orchestrators may match them).
pub fn failure_text(f: PaymentInfoFailure) -> &'static str {
    match f {
        PaymentInfoFailure::UserNotFound => "User not found",
        PaymentInfoFailure::NoStripeCustomer => "Stripe customer ID not configured for user",
        PaymentInfoFailure::NoDefaultPaymentMethod => "Default payment method not set for user",
    }
}

fn render(command: &GetPaymentInfo, info: &PaymentInfo, timestamp: &str) -> Reply {
    let correlation_id = &command.correlation_id;
    let user_id = &command.requested;
    let (kind, outcome, payload) = match info {
        PaymentInfo::Retrieved {
            stripe_customer_id,
            payment_method_id,
        } => (
            RETRIEVED,
            "retrieved",
            Payload::Retrieved {
                payment_info: PaymentInfoWire {
                    stripe_customer_id,
                    payment_method_id,
                },
                user_id,
            },
        ),
        PaymentInfo::Failed(f) => (
            FAILED,
            "failed",
            Payload::Failed {
                error: failure_text(*f),
                user_id,
            },
        ),
    };
    let body = serde_json::to_vec(&ReplyBody {
        kind,
        correlation_id,
        timestamp,
        payload,
        source: "user-service",
    });
    Reply {
        kind,
        outcome,
        correlation_id: correlation_id.to_owned(),
        body: body.expect("reply types always serialise"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_match_the_wire_format() {
        let ok = PaymentInfo::Retrieved {
            stripe_customer_id: "cus_1".into(),
            payment_method_id: "pm_1".into(),
        };
        let command = |c: &str, u: &str| GetPaymentInfo {
            correlation_id: c.into(),
            user_id: ClerkUserId::parse(u).ok(),
            requested: u.into(),
        };
        let r = render(&command("c1", "user_1"), &ok, "2026-01-01T00:00:00.000000Z");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "user.payment_info_retrieved", "correlation_id": "c1",
                "timestamp": "2026-01-01T00:00:00.000000Z", "source": "user-service",
                "payload": {"payment_info": {"stripeCustomerId": "cus_1", "paymentMethodId": "pm_1"},
                            "user_id": "user_1"}})
        );
        let r = render(
            &command("c2", "user_2"),
            &PaymentInfo::Failed(PaymentInfoFailure::NoStripeCustomer),
            "t",
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["type"], "user.payment_info_failed");
        assert_eq!(
            v["payload"],
            serde_json::json!({"error": "Stripe customer ID not configured for user", "user_id": "user_2"})
        );
    }

    #[test]
    fn missing_user_id_is_malformed_but_an_impossible_one_is_not_found() {
        let e =
            Envelope::parse(Some(br#"{"type":"get_payment_info","correlation_id":"c"}"#)).unwrap();
        assert_eq!(
            GetPaymentInfo::parse(&e).unwrap_err().reason(),
            "missing_user_id"
        );
        let e = Envelope::parse(Some(
            br#"{"type":"get_payment_info","correlation_id":"c","payload":{"user_id":"a b"}}"#,
        ))
        .unwrap();
        let parsed = GetPaymentInfo::parse(&e).unwrap();
        assert!(parsed.user_id.is_none());
        assert_eq!(parsed.requested, "a b", "echoed as sent");
        let long = format!(
            r#"{{"type":"get_payment_info","correlation_id":"c","user_id":"{}"}}"#,
            "x".repeat(5000)
        );
        let e = Envelope::parse(Some(long.as_bytes())).unwrap();
        assert_eq!(GetPaymentInfo::parse(&e).unwrap().requested.len(), 255);
    }
}
