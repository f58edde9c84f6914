//! Card details: what we keep of a Stripe PaymentMethod (never the full number).

use chrono::{DateTime, Utc};

use super::{PaymentMethodId, ValidationError};

/// Card details of a PaymentMethod as reported by the payments provider, checked
/// before they are stored: a 4-digit `last4`, a month in 1–12, a plausible year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardDetails {
    payment_method_id: PaymentMethodId,
    brand: String,
    last4: String,
    exp_month: i16,
    exp_year: i16,
}

impl CardDetails {
    pub fn new(
        payment_method_id: PaymentMethodId,
        brand: &str,
        last4: &str,
        exp_month: i64,
        exp_year: i64,
    ) -> Result<Self, ValidationError> {
        let brand = brand.trim();
        if brand.is_empty() || brand.chars().count() > 32 {
            return Err(ValidationError::new("card brand must be 1-32 characters"));
        }
        if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::new("card last4 must be 4 digits"));
        }
        if !(1..=12).contains(&exp_month) {
            return Err(ValidationError::new("card exp_month must be 1-12"));
        }
        if !(2000..=9999).contains(&exp_year) {
            return Err(ValidationError::new("card exp_year is out of range"));
        }
        Ok(Self {
            payment_method_id,
            brand: brand.to_owned(),
            last4: last4.to_owned(),
            exp_month: exp_month as i16,
            exp_year: exp_year as i16,
        })
    }

    pub fn payment_method_id(&self) -> &PaymentMethodId {
        &self.payment_method_id
    }
    pub fn brand(&self) -> &str {
        &self.brand
    }
    pub fn last4(&self) -> &str {
        &self.last4
    }
    pub fn exp_month(&self) -> i16 {
        self.exp_month
    }
    pub fn exp_year(&self) -> i16 {
        self.exp_year
    }
}

/// A card as stored on a user's row (read model; the row's CHECKs guarantee shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCard {
    pub payment_method_id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i16,
    pub exp_year: i16,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm() -> PaymentMethodId {
        PaymentMethodId::parse("pm_1", "payment_method_id").unwrap()
    }

    #[test]
    fn card_fields_are_checked() {
        assert!(CardDetails::new(pm(), "visa", "4242", 12, 2030).is_ok());
        assert!(CardDetails::new(pm(), "", "4242", 12, 2030).is_err());
        assert!(CardDetails::new(pm(), "visa", "424", 12, 2030).is_err());
        assert!(CardDetails::new(pm(), "visa", "42a2", 12, 2030).is_err());
        assert!(CardDetails::new(pm(), "visa", "4242", 13, 2030).is_err());
        assert!(CardDetails::new(pm(), "visa", "4242", 1, 99999).is_err());
    }
}
