//! Payment info for a batch of users: what the saga orchestrators ask the
//! worker for (`get_payment_info`), answered with one query per batch.

use std::collections::HashMap;

use super::{Result, UserService};
use crate::domain::{ClerkUserId, PaymentRef};

/// Why payment info cannot be given for a user (a business outcome, answered to
/// the caller; not an error of the service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentInfoFailure {
    UserNotFound,
    NoStripeCustomer,
    NoDefaultPaymentMethod,
}

/// The payment info of one user, as the saga orchestrators need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentInfo {
    Retrieved {
        stripe_customer_id: String,
        payment_method_id: String,
    },
    Failed(PaymentInfoFailure),
}

impl PaymentInfo {
    fn from_ref(r: Option<&PaymentRef>) -> Self {
        let Some(r) = r else {
            return PaymentInfo::Failed(PaymentInfoFailure::UserNotFound);
        };
        match (&r.stripe_customer_id, &r.default_payment_method_id) {
            (None, _) => PaymentInfo::Failed(PaymentInfoFailure::NoStripeCustomer),
            (Some(_), None) => PaymentInfo::Failed(PaymentInfoFailure::NoDefaultPaymentMethod),
            (Some(c), Some(pm)) => PaymentInfo::Retrieved {
                stripe_customer_id: c.clone(),
                payment_method_id: pm.clone(),
            },
        }
    }
}

impl UserService {
    /// Payment info for each id, in the order given, with one query for all of
    /// them (the worker answers a whole poll batch with this).
    pub async fn payment_info_batch(&self, ids: &[ClerkUserId]) -> Result<Vec<PaymentInfo>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut unique: Vec<ClerkUserId> = ids.to_vec();
        unique.sort();
        unique.dedup();
        let refs = self.repo.payment_refs(&unique).await?;
        let by_id: HashMap<&str, &PaymentRef> =
            refs.iter().map(|r| (r.clerk_user_id.as_str(), r)).collect();
        Ok(ids
            .iter()
            .map(|id| PaymentInfo::from_ref(by_id.get(id.as_str()).copied()))
            .collect())
    }
}
