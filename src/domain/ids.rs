//! Identifiers: our users' Clerk ids and the Stripe object ids we store.

use std::fmt;

use super::{ValidationError, char_len};

const MAX_ID_LEN: usize = 255;

/// A Clerk user id (`user_2abc…`, or `temp_<32 hex>` for temporary users):
/// 1–255 characters from `[A-Za-z0-9_-]`. This keeps ids safe to put in paths,
/// logs and Kafka keys without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClerkUserId(String);

impl ClerkUserId {
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into();
        if raw.is_empty() {
            return Err(ValidationError::new("clerk_user_id must not be empty"));
        }
        if raw.len() > MAX_ID_LEN {
            return Err(ValidationError::new(
                "clerk_user_id must be at most 255 characters",
            ));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ValidationError::new(
                "clerk_user_id may only contain letters, digits, '_' and '-'",
            ));
        }
        Ok(Self(raw))
    }

    /// A fresh id for `POST /user/temp`, in the form the original service used.
    pub fn new_temp() -> Self {
        Self(format!("temp_{}", uuid::Uuid::new_v4().simple()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClerkUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a Stripe object id with a fixed prefix (`cus_`, `pm_`, `acct_`): the
/// prefix, a letter or digit, then letters, digits and `_` (Stripe's test ids
/// such as `pm_card_visa`), 255 characters at most. Ids go into Stripe's URL
/// paths (`/v1/customers/{id}`), so nothing that could leave the segment
/// (`/`, `.`, `%`, `?`) ever passes.
fn parse_stripe_id(raw: String, prefix: &str, field: &str) -> Result<String, ValidationError> {
    let rest = raw.strip_prefix(prefix).unwrap_or("");
    if !rest.starts_with(|c: char| c.is_ascii_alphanumeric())
        || char_len(&raw) > MAX_ID_LEN
        || !rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(ValidationError::new(format!(
            "{field} must look like {prefix}… (letters, digits and '_', at most 255 characters)"
        )));
    }
    Ok(raw)
}

/// A Stripe Customer id, `cus_…`: whose cards a user's payments use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerId(String);

impl CustomerId {
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        parse_stripe_id(raw.into(), "cus_", "stripe_customer_id").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Stripe PaymentMethod id, `pm_…`. Checked before any Stripe call is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethodId(String);

impl PaymentMethodId {
    pub fn parse(raw: impl Into<String>, field: &str) -> Result<Self, ValidationError> {
        parse_stripe_id(raw.into(), "pm_", field).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Stripe Connect account id, `acct_…`: where a runner's payouts go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectAccountId(String);

impl ConnectAccountId {
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        parse_stripe_id(raw.into(), "acct_", "stripe_connect_account_id").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clerk_user_id_accepts_clerk_and_temp_forms() {
        assert!(ClerkUserId::parse("user_2abcDEF123").is_ok());
        assert!(ClerkUserId::parse("a-b_c").is_ok());
        let temp = ClerkUserId::new_temp();
        assert!(temp.as_str().starts_with("temp_"));
        assert_eq!(temp.as_str().len(), 5 + 32);
        assert!(temp.as_str()[5..].bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn clerk_user_id_rejects_empty_long_and_odd_characters() {
        assert!(ClerkUserId::parse("").is_err());
        assert!(ClerkUserId::parse("x".repeat(256)).is_err());
        assert!(ClerkUserId::parse("x".repeat(255)).is_ok());
        for bad in ["a b", "a/b", "a%20b", "é", "a.b", "a;drop"] {
            assert!(ClerkUserId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stripe_ids_need_their_prefix() {
        assert!(PaymentMethodId::parse("pm_1Abc", "paymentMethodId").is_ok());
        assert!(PaymentMethodId::parse("pm_", "paymentMethodId").is_err());
        assert!(PaymentMethodId::parse("card_1", "paymentMethodId").is_err());
        assert!(PaymentMethodId::parse("pm_a-b", "paymentMethodId").is_err());
        assert!(ConnectAccountId::parse("acct_1Xyz").is_ok());
        assert!(ConnectAccountId::parse("acct_1Xyz ").is_err());
        assert!(ConnectAccountId::parse(format!("acct_{}", "a".repeat(251))).is_err());
        assert!(PaymentMethodId::parse("pm_card_visa", "paymentMethodId").is_ok());
        assert!(PaymentMethodId::parse("pm__x", "paymentMethodId").is_err());
        assert!(CustomerId::parse("cus_NffrFeUfNV2Hib").is_ok());
        for bad in [
            "cus_x/../../accounts/acct_victim",
            "cus_",
            "cus_a.b",
            "cus_a%2F",
            "cus_a?x=1",
            "acct_1",
            "cus_\n",
        ] {
            assert!(CustomerId::parse(bad).is_err(), "{bad}");
        }
    }
}
