//! Customer and runner ratings.

use super::ValidationError;

/// A rating between 0 and 5 inclusive, always finite (the schema's CHECK agrees).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rating(f64);

impl Rating {
    pub fn parse(value: f64) -> Result<Self, ValidationError> {
        if value.is_finite() && (0.0..=5.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(ValidationError::new(
                "rating must be a number between 0 and 5",
            ))
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

/// Which of a user's two ratings a use case touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatingKind {
    Customer,
    Runner,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_non_finite_values() {
        for ok in [0.0, 4.5, 5.0] {
            assert_eq!(Rating::parse(ok).unwrap().value(), ok);
        }
        for bad in [-0.1, 5.01, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(Rating::parse(bad).is_err(), "{bad}");
        }
    }
}
