//! The command envelope the saga orchestrators send on `user_commands`.
//!
//! Two forms are accepted (docs/wire-compatibility.md): the running system's
//! `{"type", "correlation_id", "timestamp", "payload": {"user_id"}}` and the seed
//! seed README's flat form with `user_id` (and possibly `correlation_id`) at the top.

use serde_json::{Map, Value};

/// Longest correlation id we accept (it becomes the reply's Kafka key).
const MAX_CORRELATION_ID_LEN: usize = 255;

/// Why a message cannot be processed at all (it goes to the dead-letter topic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    NotJson,
    NotAnObject,
    MissingCorrelationId,
    /// Control characters in the correlation id: it becomes the reply's key
    /// and a log field, and no orchestrator makes one like that.
    InvalidCorrelationId,
    UnknownType,
    /// The command's own parse refused it; the reason is the command's.
    Invalid(&'static str),
}

impl Malformed {
    /// The value of the dead-letter `x-dlq-reason` header.
    pub fn reason(self) -> &'static str {
        match self {
            Malformed::NotJson => "not_json",
            Malformed::NotAnObject => "not_an_object",
            Malformed::MissingCorrelationId => "missing_correlation_id",
            Malformed::InvalidCorrelationId => "invalid_correlation_id",
            Malformed::UnknownType => "unknown_type",
            Malformed::Invalid(reason) => reason,
        }
    }
}

/// A parsed envelope: its type, correlation id, and the object holding the
/// command's fields (each command reads its own: `worker/command`) (`payload`, or the envelope itself in the flat form).
#[derive(Debug)]
pub struct Envelope {
    pub kind: String,
    pub correlation_id: String,
    fields: Map<String, Value>,
    top: Map<String, Value>,
}

impl Envelope {
    pub fn parse(bytes: Option<&[u8]>) -> Result<Self, Malformed> {
        let value: Value =
            serde_json::from_slice(bytes.unwrap_or_default()).map_err(|_| Malformed::NotJson)?;
        let Value::Object(mut top) = value else {
            return Err(Malformed::NotAnObject);
        };
        let fields = match top.remove("payload") {
            Some(Value::Object(payload)) => payload,
            _ => Map::new(),
        };
        let correlation_id = [top.get("correlation_id"), fields.get("correlation_id")]
            .into_iter()
            .flatten()
            .find_map(Value::as_str)
            .map(str::trim)
            .filter(|c| !c.is_empty() && c.chars().count() <= MAX_CORRELATION_ID_LEN)
            .ok_or(Malformed::MissingCorrelationId)?
            .to_owned();
        if correlation_id.chars().any(char::is_control) {
            return Err(Malformed::InvalidCorrelationId);
        }
        let kind = top
            .get("type")
            .and_then(Value::as_str)
            .ok_or(Malformed::UnknownType)?
            .to_owned();
        Ok(Self {
            kind,
            correlation_id,
            fields,
            top,
        })
    }

    /// A string field of the command: from `payload` first, then the top level.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .or_else(|| self.top.get(name))
            .and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_flat_forms() {
        let nested = br#"{"type":"get_payment_info","correlation_id":"c1",
            "timestamp":"2025-04-01T10:00:00.123456","payload":{"user_id":"user_1"}}"#;
        let e = Envelope::parse(Some(nested)).unwrap();
        assert_eq!(
            (e.kind.as_str(), e.correlation_id.as_str()),
            ("get_payment_info", "c1")
        );
        assert_eq!(e.field("user_id"), Some("user_1"));

        let flat = br#"{"type":"get_payment_info","user_id":"user_2","correlation_id":"c2"}"#;
        let e = Envelope::parse(Some(flat)).unwrap();
        assert_eq!(e.field("user_id"), Some("user_2"));

        let in_payload =
            br#"{"type":"get_payment_info","payload":{"user_id":"u","correlation_id":"c3"}}"#;
        assert_eq!(
            Envelope::parse(Some(in_payload)).unwrap().correlation_id,
            "c3"
        );
    }

    #[test]
    fn malformed_messages() {
        let cases: [(&[u8], Malformed); 8] = [
            (b"not json", Malformed::NotJson),
            (b"", Malformed::NotJson),
            (b"[1,2]", Malformed::NotAnObject),
            (
                br#"{"type":"get_payment_info","payload":{"user_id":"u"}}"#,
                Malformed::MissingCorrelationId,
            ),
            (
                br#"{"type":"x","correlation_id":"  "}"#,
                Malformed::MissingCorrelationId,
            ),
            (
                br#"{"type":"x","correlation_id":7}"#,
                Malformed::MissingCorrelationId,
            ),
            (br#"{"correlation_id":"c"}"#, Malformed::UnknownType),
            (
                b"{\"type\":\"get_payment_info\",\"correlation_id\":\"c\\nINFO forged\"}",
                Malformed::InvalidCorrelationId,
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                Envelope::parse(Some(bytes)).unwrap_err(),
                expected,
                "{bytes:?}"
            );
        }
        assert_eq!(Envelope::parse(None).unwrap_err(), Malformed::NotJson);
    }
}
