//! The user aggregate as the use cases read and write it.

use chrono::{DateTime, Utc};

use super::{
    CardDetails, ClerkUserId, ConnectAccountId, Email, PersonName, PhoneNumber, Rating, StoredCard,
    Username,
};

/// A stored user (read model). Values come from our own rows, whose constraints
/// match the domain types, so they are not parsed again on the hot read path.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub clerk_user_id: String,
    pub username: Option<String>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: Option<String>,
    pub customer_rating: f64,
    pub runner_rating: f64,
    pub stripe_customer_id: Option<String>,
    pub stripe_connect_account_id: Option<String>,
    pub card: Option<StoredCard>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /user/temp`: a user with a generated id.
#[derive(Debug, Clone)]
pub struct NewTempUser {
    pub clerk_user_id: ClerkUserId,
    pub email: Email,
    pub first_name: PersonName,
    pub last_name: PersonName,
    /// Kept when given, as the original did.
    pub phone_number: Option<PhoneNumber>,
    pub username: Option<Username>,
}

/// The profile fields of a sync from the frontend (or a Clerk webhook).
///
/// `None` on a name means "not sent": a new user gets `""`, an existing one keeps
/// its value. The outer `None` of `phone_number`/`username` likewise means "not
/// sent"; `Some(None)` means "clear it" (the frontend sends `""` or `null`).
#[derive(Debug, Clone)]
pub struct ProfileUpdate {
    pub clerk_user_id: ClerkUserId,
    /// Required to create a user; an update without one keeps the stored.
    pub email: Option<Email>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub phone_number: Option<Option<PhoneNumber>>,
    pub username: Option<Option<Username>>,
}

/// What the worker needs to answer `get_payment_info` for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRef {
    pub clerk_user_id: String,
    pub stripe_customer_id: Option<String>,
    pub default_payment_method_id: Option<String>,
}

/// A whole user brought across from the Flask service by `import-legacy`:
/// every field already parsed, timestamps kept from the legacy row (its
/// `updated_at` decides, on a re-run, whether the legacy row is newer).
#[derive(Debug, Clone)]
pub struct ImportedUser {
    pub clerk_user_id: ClerkUserId,
    pub username: Option<Username>,
    pub email: Email,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub phone_number: Option<PhoneNumber>,
    pub customer_rating: Rating,
    pub runner_rating: Rating,
    pub stripe_customer_id: Option<String>,
    pub stripe_connect_account_id: Option<ConnectAccountId>,
    pub card: Option<(CardDetails, DateTime<Utc>)>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
