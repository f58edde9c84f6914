//! Profile fields synced from Clerk: email, names, phone number, username.

use super::{ValidationError, char_len};

pub const MAX_EMAIL_LEN: usize = 255;
pub const MAX_NAME_LEN: usize = 100;
pub const MAX_PHONE_LEN: usize = 20;
pub const MAX_USERNAME_LEN: usize = 100;

/// An email address: trimmed, at most 255 characters, one `@` with something on
/// both sides, no whitespace. Uniqueness is case-insensitive (enforced by the
/// database's `lower(email)` index); the address is stored as the user typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(ValidationError::new("email is required"));
        }
        if char_len(s) > MAX_EMAIL_LEN {
            return Err(ValidationError::new("email must be at most 255 characters"));
        }
        let valid = match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !valid {
            return Err(ValidationError::new("email must be a valid email address"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A first or last name: trimmed, at most 100 characters, may be empty (Clerk users
/// need not have names; the wire format still sends a string).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str, field: &str) -> Result<Self, ValidationError> {
        let s = raw.trim();
        if char_len(s) > MAX_NAME_LEN {
            return Err(ValidationError::new(format!(
                "{field} must be at most {MAX_NAME_LEN} characters"
            )));
        }
        if s.chars().any(char::is_control) {
            return Err(ValidationError::new(format!(
                "{field} must not contain control characters"
            )));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn literal(s: &'static str) -> Self {
        Self(s.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number as Clerk gives it (`+6591234567`): at most 20 characters of
/// digits, `+`, spaces, `-`, `(`, `)` and `.`. The frontend sends `""` for "none",
/// which [`PhoneNumber::parse_optional`] turns into `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<Self>, ValidationError> {
        let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        if char_len(s) > MAX_PHONE_LEN {
            return Err(ValidationError::new(
                "phone_number must be at most 20 characters",
            ));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_digit() || "+-() .".contains(c))
        {
            return Err(ValidationError::new(
                "phone_number may only contain digits, spaces and + - ( ) .",
            ));
        }
        Ok(Some(Self(s.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A username: at most 100 characters, no whitespace or control characters; unique
/// (case-insensitively) when set. `""` means "no username".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<Self>, ValidationError> {
        let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        if char_len(s) > MAX_USERNAME_LEN {
            return Err(ValidationError::new(
                "username must be at most 100 characters",
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ValidationError::new("username must not contain spaces"));
        }
        Ok(Some(Self(s.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rules() {
        assert_eq!(Email::parse(" a@b.co ").unwrap().as_str(), "a@b.co");
        for bad in ["", "   ", "ab.co", "@b.co", "a@", "a@b@c", "a b@c.d"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        // 255 characters in all is the limit.
        assert!(Email::parse(&format!("{}@b.co", "a".repeat(250))).is_ok());
        assert!(Email::parse(&format!("{}@b.co", "a".repeat(251))).is_err());
    }

    #[test]
    fn names_are_bounded_in_characters_not_bytes() {
        assert!(PersonName::parse(&"é".repeat(100), "first_name").is_ok());
        assert!(PersonName::parse(&"é".repeat(101), "first_name").is_err());
        assert_eq!(
            PersonName::parse("  Ann ", "first_name").unwrap().as_str(),
            "Ann"
        );
    }

    #[test]
    fn phone_and_username_treat_empty_as_none() {
        assert_eq!(PhoneNumber::parse_optional(Some("")).unwrap(), None);
        assert_eq!(PhoneNumber::parse_optional(None).unwrap(), None);
        assert!(
            PhoneNumber::parse_optional(Some("+65 9123-4567"))
                .unwrap()
                .is_some()
        );
        assert!(PhoneNumber::parse_optional(Some(&"1".repeat(21))).is_err());
        assert!(PhoneNumber::parse_optional(Some("call me")).is_err());
        assert_eq!(Username::parse_optional(Some(" ")).unwrap(), None);
        assert!(Username::parse_optional(Some("a b")).is_err());
        assert!(Username::parse_optional(Some(&"u".repeat(101))).is_err());
    }
}
