//! Clerk's user events, turned into the same profile the frontend's sync sends.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::{ClerkUserId, Email, PersonName, PhoneNumber, ProfileUpdate, Username};

/// What a Clerk event asks of us.
#[derive(Debug)]
pub enum ClerkEvent {
    /// `user.created` / `user.updated`: the user's whole profile.
    Upsert(ProfileUpdate),
    /// `user.deleted`.
    Delete(ClerkUserId),
    /// Acknowledged but not applied, with the reason (logged).
    Ignore(String),
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    data: serde_json::Value,
    /// When Clerk emitted the event, in milliseconds since the epoch.
    timestamp: Option<i64>,
}

/// An event and when Clerk emitted it (`None` when the payload does not say).
#[derive(Debug)]
pub struct Parsed {
    pub event: ClerkEvent,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct UserData {
    id: String,
    #[serde(default)]
    email_addresses: Vec<EmailAddress>,
    primary_email_address_id: Option<String>,
    #[serde(default)]
    phone_numbers: Vec<Phone>,
    primary_phone_number_id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    username: Option<String>,
}

#[derive(Deserialize)]
struct EmailAddress {
    id: String,
    email_address: String,
}

#[derive(Deserialize)]
struct Phone {
    id: String,
    phone_number: String,
}

/// `Err` when the payload is not a Clerk event at all (400).
pub fn parse(body: &[u8]) -> Result<Parsed, serde_json::Error> {
    let envelope: Envelope = serde_json::from_slice(body)?;
    let occurred_at = envelope
        .timestamp
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    Ok(Parsed {
        event: event(envelope)?,
        occurred_at,
    })
}

fn event(envelope: Envelope) -> Result<ClerkEvent, serde_json::Error> {
    match envelope.kind.as_str() {
        "user.created" | "user.updated" => {
            let user: UserData = serde_json::from_value(envelope.data)?;
            Ok(profile(user).unwrap_or_else(ClerkEvent::Ignore))
        }
        "user.deleted" => {
            let id = envelope
                .data
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            Ok(match ClerkUserId::parse(id) {
                Ok(id) => ClerkEvent::Delete(id),
                Err(e) => ClerkEvent::Ignore(format!("user.deleted without a valid id: {e}")),
            })
        }
        other => Ok(ClerkEvent::Ignore(format!(
            "event type {other} is not handled"
        ))),
    }
}

/// The full profile of a user event. Webhooks carry the whole user, so every
/// field is "sent": a missing phone or username clears ours.
fn profile(user: UserData) -> Result<ClerkEvent, String> {
    let id = ClerkUserId::parse(user.id).map_err(|e| e.to_string())?;
    let primary_email = user
        .email_addresses
        .iter()
        .find(|e| Some(&e.id) == user.primary_email_address_id.as_ref())
        .ok_or_else(|| format!("user {id} has no primary email address"))?;
    let phone = user
        .phone_numbers
        .iter()
        .find(|p| Some(&p.id) == user.primary_phone_number_id.as_ref())
        .map(|p| p.phone_number.as_str());
    let invalid = |e: crate::domain::ValidationError| format!("user {id}: {e}");
    Ok(ClerkEvent::Upsert(ProfileUpdate {
        email: Some(Email::parse(&primary_email.email_address).map_err(invalid)?),
        first_name: Some(
            PersonName::parse(user.first_name.as_deref().unwrap_or(""), "first_name")
                .map_err(invalid)?,
        ),
        last_name: Some(
            PersonName::parse(user.last_name.as_deref().unwrap_or(""), "last_name")
                .map_err(invalid)?,
        ),
        phone_number: Some(PhoneNumber::parse_optional(phone).map_err(invalid)?),
        username: Some(Username::parse_optional(user.username.as_deref()).map_err(invalid)?),
        clerk_user_id: id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_email_and_phone_are_chosen_by_id() {
        let body = br#"{"type":"user.updated","object":"event","data":{"id":"user_1",
            "email_addresses":[{"id":"e1","email_address":"old@x.co"},{"id":"e2","email_address":"new@x.co"}],
            "primary_email_address_id":"e2",
            "phone_numbers":[{"id":"p1","phone_number":"+6590000001"}],"primary_phone_number_id":"p1",
            "first_name":"Ann","last_name":null,"username":"ann"},"timestamp":1654012591835}"#;
        let parsed = parse(body).unwrap();
        assert_eq!(
            parsed.occurred_at.unwrap().to_rfc3339(),
            "2022-05-31T15:56:31.835+00:00"
        );
        let ClerkEvent::Upsert(p) = parsed.event else {
            panic!()
        };
        assert_eq!(p.email.as_ref().unwrap().as_str(), "new@x.co");
        assert_eq!(p.phone_number.unwrap().unwrap().as_str(), "+6590000001");
        assert_eq!(p.last_name.unwrap().as_str(), "");
        assert_eq!(p.username.unwrap().unwrap().as_str(), "ann");
    }

    #[test]
    fn deletions_other_types_and_users_without_email() {
        assert!(
            matches!(parse(br#"{"type":"user.deleted","data":{"id":"user_1","deleted":true}}"#).unwrap().event,
            ClerkEvent::Delete(id) if id.as_str() == "user_1")
        );
        assert!(matches!(
            parse(br#"{"type":"session.created","data":{}}"#)
                .unwrap()
                .event,
            ClerkEvent::Ignore(_)
        ));
        let no_email = br#"{"type":"user.created","data":{"id":"user_2","email_addresses":[],"primary_email_address_id":null}}"#;
        assert!(matches!(
            parse(no_email).unwrap().event,
            ClerkEvent::Ignore(_)
        ));
        assert!(parse(b"nope").is_err());
    }
}
