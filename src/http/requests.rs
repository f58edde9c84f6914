//! Requests as the existing frontend and orchestrators send them
//! (docs/wire-compatibility.md), and their conversion into domain values:
//! each body is parsed once, here, before a use case sees it.

use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::error::ApiError;
use super::responses::CardDetail;
use crate::domain::ClerkUserId;
use crate::service::{MAX_LOOKUP_IDS, MAX_PAGE_SIZE};

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

// Fields are `Option` so that a missing one is our own 400 naming it; the
// schemas say what is required.

/// `POST /user/temp`. Names default to `Temp`/`User`.
#[derive(Deserialize, ToSchema)]
#[schema(as = TempUserRequest)]
pub struct TempUserRequest {
    #[schema(required = true, value_type = String, format = Email, max_length = 255)]
    pub email: Option<String>,
    #[schema(required = false, value_type = String, max_length = 100)]
    pub first_name: Option<String>,
    #[schema(required = false, value_type = String, max_length = 100)]
    pub last_name: Option<String>,
    #[schema(max_length = 20)]
    pub phone_number: Option<String>,
    #[schema(max_length = 100)]
    pub username: Option<String>,
}

/// `POST /user/sync-from-frontend`. A field not sent keeps its stored value.
#[derive(Deserialize, ToSchema)]
pub struct SyncRequest {
    #[schema(required = true, value_type = String, pattern = "^[A-Za-z0-9_-]{1,255}$")]
    pub clerk_user_id: Option<String>,
    /// Required for a new user; a signed-in user's comes from Clerk.
    #[schema(required = false, value_type = String, format = Email, max_length = 255)]
    pub email: Option<String>,
    #[schema(max_length = 100)]
    pub first_name: Option<String>,
    #[schema(max_length = 100)]
    pub last_name: Option<String>,
    /// `""` or null clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 20)]
    pub phone_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub username: Option<Option<String>>,
    /// Update the profile, never create Stripe objects.
    #[serde(default)]
    #[schema(required = false, value_type = bool)]
    pub profile_update_only: Option<bool>,
}

/// Either rating route.
#[derive(Deserialize, ToSchema)]
pub struct RatingRequest {
    #[schema(required = true, value_type = f64, minimum = 0, maximum = 5)]
    pub rating: Option<f64>,
}

/// `PUT /user/{id}/connect-account`.
#[derive(Deserialize, ToSchema)]
pub struct ConnectAccountRequest {
    #[schema(required = true, value_type = String, pattern = "^acct_[A-Za-z0-9][A-Za-z0-9_]*$", max_length = 255)]
    pub stripe_connect_account_id: Option<String>,
}

/// The user a `/user/{clerk_user_id}/…` route acts on, as the document
/// describes it (the handler parses it into a `ClerkUserId`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // a parameter description only
pub struct UserPath {
    #[param(pattern = "^[A-Za-z0-9_-]{1,255}$")]
    clerk_user_id: String,
}

/// `PUT /user/{id}/payment` (camelCase, as the frontend sends it).
#[derive(Deserialize, ToSchema)]
pub struct UpdatePaymentRequest {
    #[serde(rename = "paymentMethodId")]
    #[schema(required = true, value_type = String, pattern = "^pm_[A-Za-z0-9][A-Za-z0-9_]*$", max_length = 255)]
    pub payment_method_id: Option<String>,
}

/// `POST /user/{id}/payment-methods` (snake_case, as the frontend sends it).
#[derive(Deserialize, ToSchema)]
pub struct AddPaymentMethodRequest {
    #[schema(required = true, value_type = String, pattern = "^pm_[A-Za-z0-9][A-Za-z0-9_]*$", max_length = 255)]
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

/// `GET /users/public?ids=a,b,…`: the users whose public views are asked for.
#[derive(Debug)]
pub struct PublicLookup {
    /// 1 to [`MAX_LOOKUP_IDS`] ids, as sent (repeats included).
    pub ids: Vec<ClerkUserId>,
}

impl PublicLookup {
    /// The answer to a bad query is the handler's own 400 with a message
    /// that says what to send.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        #[derive(Deserialize)]
        struct Query {
            ids: Option<String>,
        }
        let query: Query = serde_urlencoded::from_str(raw)
            .map_err(|_| ApiError::InvalidQuery("Invalid query string".into()))?;
        let list = query.ids.unwrap_or_default();
        if list.trim().is_empty() {
            return Err(ApiError::InvalidQuery(
                "ids is required: a comma-separated list of user ids".into(),
            ));
        }
        let ids: Vec<&str> = list.split(',').map(str::trim).collect();
        if ids.len() > MAX_LOOKUP_IDS {
            return Err(ApiError::InvalidQuery(
                format!("ids takes at most {MAX_LOOKUP_IDS} user ids").into(),
            ));
        }
        let ids = ids
            .into_iter()
            .map(ClerkUserId::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| ApiError::InvalidQuery("ids must be user ids".into()))?;
        Ok(Self { ids })
    }
}

/// `GET /user/list-users`: the whole list (streamed), or one page.
#[derive(Debug)]
pub struct ListRequest {
    pub after: Option<ClerkUserId>,
    /// `Some` asks for one page of at most this many ids.
    pub limit: Option<i64>,
}

impl ListRequest {
    /// Parsed by a filter that never rejects (the error goes to the handler): a
    /// rejected query would let the request fall through to `GET /user/{id}`
    /// and answer 404 for a user called `list-users`.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        #[derive(Deserialize)]
        struct Query {
            limit: Option<String>,
            after: Option<String>,
        }
        let query: Query = serde_urlencoded::from_str(raw)
            .map_err(|_| ApiError::InvalidQuery("Invalid query string".into()))?;
        let after = query
            .after
            .map(ClerkUserId::parse)
            .transpose()
            .map_err(|_| ApiError::InvalidQuery("after must be a user id".into()))?;
        let limit = query
            .limit
            .map(|l| {
                l.parse::<i64>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                    .ok_or(ApiError::InvalidQuery(
                        "limit must be an integer from 1 to 1000".into(),
                    ))
            })
            .transpose()?;
        Ok(Self { after, limit })
    }
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
    use crate::service::Provisioning;

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
                phone_number: PhoneNumber::parse_optional(self.phone_number.as_deref())?,
                username: Username::parse_optional(self.username.as_deref())?,
            })
        }
    }

    impl SyncRequest {
        /// The profile, and whether Stripe provisioning may run (`profile_update_only`
        /// is the frontend's "just the profile, please").
        pub fn into_domain(self) -> Result<(ProfileUpdate, Provisioning), ValidationError> {
            let clerk_user_id = ClerkUserId::parse(required(self.clerk_user_id, "clerk_user_id")?)?;
            // Required for a new user only (the repository says which).
            let email = self.email.as_deref().map(Email::parse).transpose()?;
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
            let provisioning = if self.profile_update_only.unwrap_or(false) {
                Provisioning::ProfileOnly
            } else {
                Provisioning::Provision
            };
            Ok((profile, provisioning))
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
