//! Wire types: the JSON the existing frontend and orchestrators send and read
//! (see shared/reference/wire-compat.md), and the conversion of request bodies into
//! domain values. Requests are parsed once here; responses are rendered once here.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::error::ApiError;
use crate::domain::{StoredCard, User};

// ------------------------------------------------------------------ parsing

/// Parses a request body into `T`. Serde's messages may quote input or internals,
/// so they are replaced by our own, naming only the offending field.
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // serde's derived structs also accept JSON arrays (`[4.5]` as a rating): only
    // an object is a request body here.
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(b'[' | b'"' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9') => {
            return Err(ApiError::NotAnObject);
        }
        _ => return Err(ApiError::MalformedJson),
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        match err.inner().classify() {
            serde_json::error::Category::Data if path == "." => ApiError::NotAnObject,
            serde_json::error::Category::Data => ApiError::InvalidField(path),
            _ => ApiError::MalformedJson,
        }
    })?;
    // Trailing data after the object ("{} x") is malformed too.
    de.end().map_err(|_| ApiError::MalformedJson)?;
    Ok(value)
}

/// For fields where "absent" and "null" mean different things: absent stays `None`
/// (via `#[serde(default)]`), present (even `null`) becomes `Some(_)`.
fn present<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(de).map(Some)
}

#[derive(Deserialize)]
pub struct TempUserRequest {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Deserialize)]
pub struct SyncRequest {
    pub clerk_user_id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub phone_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub username: Option<Option<String>>,
    #[serde(default)]
    pub profile_update_only: Option<bool>,
}

#[derive(Deserialize)]
pub struct RatingRequest {
    pub rating: Option<f64>,
}

#[derive(Deserialize)]
pub struct ConnectAccountRequest {
    pub stripe_connect_account_id: Option<String>,
}

/// `PUT /user/{id}/payment` (camelCase, as the frontend sends it).
#[derive(Deserialize)]
pub struct UpdatePaymentRequest {
    #[serde(rename = "paymentMethodId")]
    pub payment_method_id: Option<String>,
}

/// `POST /user/{id}/payment-methods` (snake_case, as the frontend sends it).
#[derive(Deserialize)]
pub struct AddPaymentMethodRequest {
    pub payment_method_id: Option<String>,
}

#[derive(Deserialize)]
pub struct UserQuery {
    #[serde(rename = "includePaymentDetails")]
    pub include_payment_details: Option<String>,
}

impl UserQuery {
    /// Included by default; only `false` (any case) leaves the card out, as in
    /// the original.
    pub fn card_detail(&self) -> CardDetail {
        match self.include_payment_details.as_deref() {
            Some(v) if v.eq_ignore_ascii_case("false") => CardDetail::Omitted,
            _ => CardDetail::Included,
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    pub limit: Option<String>,
    pub after: Option<String>,
}

impl ListQuery {
    /// Parsed by the handler, not by `warp::query`: a rejected query would let the
    /// request fall through to `GET /user/{id}` and answer 404 for a user called
    /// `list-users`.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(raw)
            .map_err(|_| ApiError::InvalidQuery("Invalid query string".into()))
    }
}

// ------------------------------------------------------------------ rendering

/// A JSON response. Serialising our own wire types cannot fail; if it ever did,
/// the client gets a bare 500 rather than a half-written body.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let (status, bytes) = match serde_json::to_vec(body) {
        Ok(bytes) => (status, bytes),
        Err(e) => {
            tracing::error!(error = %e, "serialising a response failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                br#"{"success":false,"message":"Internal server error"}"#.to_vec(),
            )
        }
    };
    let mut response = Response::new(bytes.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub fn ok<T: Serialize>(body: &T) -> Response {
    json(StatusCode::OK, body)
}

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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserWire<'a> {
    pub clerk_user_id: &'a str,
    pub username: Option<&'a str>,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phone_number: Option<&'a str>,
    pub customer_rating: f64,
    pub runner_rating: f64,
    pub stripe_customer_id: Option<&'a str>,
    pub stripe_connect_account_id: Option<&'a str>,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: &'a DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: &'a DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
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
#[derive(Serialize)]
pub struct CardWire<'a> {
    pub payment_method_id: &'a str,
    pub brand: &'a str,
    pub last4: &'a str,
    pub exp_month: i16,
    pub exp_year: i16,
    #[serde(serialize_with = "rfc3339")]
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
#[derive(Serialize)]
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
#[derive(Serialize)]
pub struct TempUserWire<'a> {
    pub clerk_user_id: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectAccountUserWire<'a> {
    pub clerk_user_id: &'a str,
    pub stripe_connect_account_id: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_never_quote_serde() {
        let r = parse::<RatingRequest>(b"{\"rating\": \"4.5\"}");
        assert!(matches!(r, Err(ApiError::InvalidField(ref f)) if f == "rating"));
        assert!(matches!(
            parse::<RatingRequest>(b"[1]"),
            Err(ApiError::NotAnObject)
        ));
        assert!(matches!(
            parse::<RatingRequest>(b"\"x\""),
            Err(ApiError::NotAnObject)
        ));
        assert!(matches!(
            parse::<RatingRequest>(b"{"),
            Err(ApiError::MalformedJson)
        ));
        assert!(matches!(
            parse::<RatingRequest>(b"{} x"),
            Err(ApiError::MalformedJson)
        ));
        assert!(matches!(
            parse::<RatingRequest>(b"{\"rating\": 1e309}"),
            Err(ApiError::MalformedJson)
        ));
        let ok = parse::<RatingRequest>(b"{\"rating\": 4.5, \"extra\": [1]}").unwrap();
        assert_eq!(ok.rating, Some(4.5));
    }

    #[test]
    fn absent_and_null_are_different_for_phone_and_username() {
        let s: SyncRequest = parse(b"{\"phone_number\": null}").unwrap();
        assert_eq!(s.phone_number, Some(None));
        assert_eq!(s.username, None);
        let s: SyncRequest = parse(b"{\"username\": \"\"}").unwrap();
        assert_eq!(s.username, Some(Some(String::new())));
    }

    #[test]
    fn include_payment_details_is_off_only_for_false() {
        let q = |v: Option<&str>| UserQuery {
            include_payment_details: v.map(str::to_owned),
        };
        assert_eq!(q(None).card_detail(), CardDetail::Included);
        assert_eq!(q(Some("true")).card_detail(), CardDetail::Included);
        assert_eq!(q(Some("0")).card_detail(), CardDetail::Included);
        assert_eq!(q(Some("false")).card_detail(), CardDetail::Omitted);
        assert_eq!(q(Some("FaLsE")).card_detail(), CardDetail::Omitted);
    }
}

// ------------------------------------------------------------------ into domain

mod into_domain {
    use super::*;
    use crate::domain::{
        ClerkUserId, ConnectAccountId, Email, NewTempUser, PaymentMethodId, PersonName,
        PhoneNumber, ProfileUpdate, Rating, Username, ValidationError,
    };

    fn required<T>(v: Option<T>, field: &str) -> Result<T, ValidationError> {
        v.ok_or_else(|| ValidationError::new(format!("{field} is required")))
    }

    fn name(v: Option<&str>, field: &str) -> Result<Option<PersonName>, ValidationError> {
        v.map(|s| PersonName::parse(s, field)).transpose()
    }

    impl TempUserRequest {
        /// Names default to `Temp`/`User`, as in the original.
        pub fn into_domain(self) -> Result<NewTempUser, ValidationError> {
            let email = Email::parse(&required(self.email, "email")?)?;
            Ok(NewTempUser {
                clerk_user_id: ClerkUserId::new_temp(),
                email,
                first_name: name(self.first_name.as_deref(), "first_name")?
                    .filter(|n| !n.as_str().is_empty())
                    .unwrap_or_else(|| PersonName::literal("Temp")),
                last_name: name(self.last_name.as_deref(), "last_name")?
                    .filter(|n| !n.as_str().is_empty())
                    .unwrap_or_else(|| PersonName::literal("User")),
            })
        }
    }

    impl SyncRequest {
        /// The profile, and whether Stripe provisioning may run (`profile_update_only`
        /// is the frontend's "just the profile, please").
        pub fn into_domain(self) -> Result<(ProfileUpdate, bool), ValidationError> {
            let clerk_user_id = ClerkUserId::parse(required(self.clerk_user_id, "clerk_user_id")?)?;
            let email = Email::parse(&required(self.email, "email")?)?;
            let profile = ProfileUpdate {
                clerk_user_id,
                email,
                first_name: name(self.first_name.as_deref(), "first_name")?,
                last_name: name(self.last_name.as_deref(), "last_name")?,
                phone_number: self
                    .phone_number
                    .map(|p| PhoneNumber::parse_optional(p.as_deref()))
                    .transpose()?,
                username: self
                    .username
                    .map(|u| Username::parse_optional(u.as_deref()))
                    .transpose()?,
            };
            Ok((profile, !self.profile_update_only.unwrap_or(false)))
        }
    }

    impl RatingRequest {
        pub fn into_domain(self) -> Result<Rating, ValidationError> {
            Rating::parse(required(self.rating, "rating")?)
        }
    }

    impl ConnectAccountRequest {
        pub fn into_domain(self) -> Result<ConnectAccountId, ValidationError> {
            ConnectAccountId::parse(required(
                self.stripe_connect_account_id,
                "stripe_connect_account_id",
            )?)
        }
    }

    impl UpdatePaymentRequest {
        pub fn into_domain(self) -> Result<PaymentMethodId, ValidationError> {
            PaymentMethodId::parse(
                required(self.payment_method_id, "paymentMethodId")?,
                "paymentMethodId",
            )
        }
    }

    impl AddPaymentMethodRequest {
        pub fn into_domain(self) -> Result<PaymentMethodId, ValidationError> {
            PaymentMethodId::parse(
                required(self.payment_method_id, "payment_method_id")?,
                "payment_method_id",
            )
        }
    }
}
