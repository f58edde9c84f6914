//! Answers as the existing clients read them (docs/wire-compatibility.md):
//! the user object (camelCase, always nested under `user`), the public view of
//! another user, cards and payment info (snake_case inside). Rendering them to
//! a response is `render`'s job. Each type is also its schema in the OpenAPI
//! document (`openapi.rs`): what is sent and what is documented are one type.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use crate::domain::{StoredCard, User};

fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// Whether a user object carries the stored card (`userStripeCard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardDetail {
    Included,
    Omitted,
}

/// The user object, camelCase as the running service sends it. It is always
/// nested under `user` in an answer, never spread over the top level: the
/// frontend reads `response.user`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = User)]
pub struct UserWire<'a> {
    pub clerk_user_id: &'a str,
    pub username: Option<&'a str>,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phone_number: Option<&'a str>,
    #[schema(minimum = 0, maximum = 5)]
    pub customer_rating: f64,
    #[schema(minimum = 0, maximum = 5)]
    pub runner_rating: f64,
    pub stripe_customer_id: Option<&'a str>,
    pub stripe_connect_account_id: Option<&'a str>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: &'a DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: &'a DateTime<Utc>,
    /// Unless `includePaymentDetails=false`, when the user has a card.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub user_stripe_card: Option<CardWire<'a>>,
}

impl<'a> UserWire<'a> {
    pub fn new(user: &'a User, card: CardDetail) -> Self {
        Self {
            clerk_user_id: &user.clerk_user_id,
            username: user.username.as_deref(),
            email: &user.email,
            first_name: &user.first_name,
            last_name: &user.last_name,
            phone_number: user.phone_number.as_deref(),
            customer_rating: user.customer_rating,
            runner_rating: user.runner_rating,
            stripe_customer_id: user.stripe_customer_id.as_deref(),
            stripe_connect_account_id: user.stripe_connect_account_id.as_deref(),
            created_at: &user.created_at,
            updated_at: &user.updated_at,
            user_stripe_card: user
                .card
                .as_ref()
                .filter(|_| card == CardDetail::Included)
                .map(CardWire::from),
        }
    }
}

/// What any signed-in user may see of another user: the name the order pages
/// show (`user.username || user.firstName`) and nothing that reaches the person
/// (email, phone), their money (card, Stripe ids) or their activity (timestamps,
/// ratings). `lastName` stays because the frontend's own type for this answer
/// declares it and a runner and a customer meet in person to hand over an
/// order; ratings stay out because no client reads them here, and a key can be
/// added later without breaking anyone, never taken back.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
// Serialize-only, so this changes nothing on the wire; in the document it is
// `additionalProperties: false`, which keeps a whole `User` from also passing
// as a `PublicUser` (the `oneOf` of `GET /user/{id}`).
#[serde(deny_unknown_fields)]
#[schema(as = PublicUser)]
pub struct PublicUserWire<'a> {
    pub clerk_user_id: &'a str,
    pub username: Option<&'a str>,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

impl<'a> From<&'a User> for PublicUserWire<'a> {
    fn from(user: &'a User) -> Self {
        Self {
            clerk_user_id: &user.clerk_user_id,
            username: user.username.as_deref(),
            first_name: &user.first_name,
            last_name: &user.last_name,
        }
    }
}

/// A stored card, snake_case inside (`userStripeCard`, and `payment_info` of
/// `POST …/payment-methods`).
#[derive(Serialize, ToSchema)]
#[schema(as = Card)]
pub struct CardWire<'a> {
    pub payment_method_id: &'a str,
    pub brand: &'a str,
    #[schema(pattern = "^[0-9]{4}$")]
    pub last4: &'a str,
    pub exp_month: i16,
    pub exp_year: i16,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: &'a DateTime<Utc>,
}

impl<'a> From<&'a StoredCard> for CardWire<'a> {
    fn from(c: &'a StoredCard) -> Self {
        Self {
            payment_method_id: &c.payment_method_id,
            brand: &c.brand,
            last4: &c.last4,
            exp_month: c.exp_month,
            exp_year: c.exp_year,
            updated_at: &c.updated_at,
        }
    }
}

/// `GET /user/{id}/payment`'s `payment_info`, in the frontend's names.
#[derive(Serialize, ToSchema)]
#[schema(as = PaymentInfo)]
pub struct PaymentInfoWire<'a> {
    pub payment_method_id: &'a str,
    pub last_four: &'a str,
    pub card_type: &'a str,
    pub expiry_month: i16,
    pub expiry_year: i16,
}

impl<'a> From<&'a StoredCard> for PaymentInfoWire<'a> {
    fn from(c: &'a StoredCard) -> Self {
        Self {
            payment_method_id: &c.payment_method_id,
            last_four: &c.last4,
            card_type: &c.brand,
            expiry_month: c.exp_month,
            expiry_year: c.exp_year,
        }
    }
}

/// `POST /user/temp`'s `user` (snake_case in the original).
#[derive(Serialize, ToSchema)]
#[schema(as = TempUser)]
pub struct TempUserWire<'a> {
    #[schema(pattern = "^temp_[0-9a-f]{32}$")]
    pub clerk_user_id: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

impl<'a> From<&'a User> for TempUserWire<'a> {
    fn from(user: &'a User) -> Self {
        Self {
            clerk_user_id: &user.clerk_user_id,
            email: &user.email,
            first_name: &user.first_name,
            last_name: &user.last_name,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ConnectAccountUser)]
pub struct ConnectAccountUserWire<'a> {
    pub clerk_user_id: &'a str,
    pub stripe_connect_account_id: &'a str,
}
