//! The HTTP layer's one error type and the one place that maps errors to statuses
//! and client messages. Handlers return `Result<impl Reply, ApiError>` and
//! [`reply`] renders the error; warp's routing and body rejections come
//! through [`recover`], which uses the same mapping, so every failure leaves as
//! `{"success": false, "message": …}`.
//!
//! Messages are fixed texts chosen here; internal error text (SQL, serde, Stripe)
//! only ever reaches the logs.

use std::borrow::Cow;
use std::convert::Infallible;

use serde::Serialize;
use utoipa::{ToResponse, ToSchema};
use warp::http::StatusCode;
use warp::reject::{self, Rejection};
use warp::reply::{Reply, Response};

use super::render;
use crate::auth::AuthError;
use crate::domain::ValidationError;
use crate::service::ServiceError;
use crate::webhooks::WebhookError;

#[derive(Debug)]
pub enum ApiError {
    /// A value failed its domain type.
    Validation(ValidationError),
    /// The body is not JSON at all.
    MalformedJson,
    /// The body is JSON but not an object.
    NotAnObject,
    /// A field has the wrong JSON type (e.g. a string rating).
    InvalidField(String),
    EmptyBody,
    UnsupportedMediaType,
    PayloadTooLarge,
    UnreadableBody,
    /// An unauthenticated body did not arrive in time.
    BodyTimeout,
    InvalidQuery(Cow<'static, str>),
    Unauthorized(AuthError),
    Forbidden,
    /// A signed-in user's sync with no email Clerk vouches for.
    EmailNotVerified,
    Webhook(WebhookError),
    WebhookNotConfigured,
    /// The request was not answered within `HTTP_REQUEST_TIMEOUT_MS`.
    RequestTimeout,
    Service(ServiceError),
}

impl reject::Reject for ApiError {}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::Validation(e)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError::Service(e)
    }
}

impl ApiError {
    fn status_and_message(&self) -> (StatusCode, Cow<'_, str>) {
        use ApiError::*;
        use StatusCode as S;
        match self {
            Validation(e) => (S::BAD_REQUEST, e.message().into()),
            MalformedJson => (S::BAD_REQUEST, "Request body must be valid JSON".into()),
            NotAnObject => (S::BAD_REQUEST, "Request body must be a JSON object".into()),
            InvalidField(field) => (
                S::BAD_REQUEST,
                format!("Field '{field}' has an invalid value").into(),
            ),
            EmptyBody => (S::BAD_REQUEST, "Request body is required".into()),
            UnsupportedMediaType => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json".into(),
            ),
            PayloadTooLarge => (S::PAYLOAD_TOO_LARGE, "Request body is too large".into()),
            UnreadableBody => (S::BAD_REQUEST, "Request body could not be read".into()),
            BodyTimeout => (S::REQUEST_TIMEOUT, "Request body took too long".into()),
            InvalidQuery(m) => (S::BAD_REQUEST, m.as_ref().into()),
            // Never why a token failed: only that it did.
            Unauthorized(AuthError::Missing) => (S::UNAUTHORIZED, "Authentication required".into()),
            Unauthorized(AuthError::Invalid) => (S::UNAUTHORIZED, "Invalid token".into()),
            Forbidden => (S::FORBIDDEN, "Forbidden".into()),
            EmailNotVerified => (
                S::FORBIDDEN,
                "Your email could not be verified with Clerk; please sign in again".into(),
            ),
            Webhook(WebhookError::BadPayload) => (S::BAD_REQUEST, "Invalid webhook payload".into()),
            Webhook(_) => (S::BAD_REQUEST, "Invalid webhook signature".into()),
            WebhookNotConfigured => (S::SERVICE_UNAVAILABLE, "Webhook is not configured".into()),
            RequestTimeout => (
                S::SERVICE_UNAVAILABLE,
                "Request took too long, please try again".into(),
            ),
            Service(e) => service_status(e),
        }
    }
}

fn service_status(e: &ServiceError) -> (StatusCode, Cow<'_, str>) {
    use ServiceError as E;
    use StatusCode as S;
    match e {
        E::NotFound => (S::NOT_FOUND, "User not found".into()),
        E::NoStoredCard => (
            S::BAD_REQUEST,
            "No payment method on file for this user".into(),
        ),
        E::NoCardToDelete => (
            S::BAD_REQUEST,
            "User has no payment method to delete".into(),
        ),
        E::EmailTaken => (S::CONFLICT, "Email is already in use".into()),
        E::UsernameTaken => (S::CONFLICT, "Username is already taken".into()),
        E::UserExists => (S::CONFLICT, "User already exists".into()),
        E::UserDeleted => (S::GONE, "User was deleted".into()),
        // The same text the original answered for a sync without an email.
        E::EmailRequired => (S::BAD_REQUEST, "email is required".into()),
        E::PaymentsNotConfigured => (S::SERVICE_UNAVAILABLE, "Payments are not configured".into()),
        E::CardDeclined { message } => (S::BAD_REQUEST, message.as_str().into()),
        E::PaymentMethodNotFound => (S::BAD_REQUEST, "Payment method not found".into()),
        E::PaymentMethodNotOwned => (
            S::BAD_REQUEST,
            "Payment method does not belong to this user".into(),
        ),
        E::PaymentProviderBusy => (
            S::SERVICE_UNAVAILABLE,
            "Payment provider is busy, please try again".into(),
        ),
        E::PaymentProviderUnavailable(_) => {
            (S::BAD_GATEWAY, "Payment provider is unavailable".into())
        }
        E::Unavailable(_) => (
            S::SERVICE_UNAVAILABLE,
            "Service temporarily unavailable, please try again".into(),
        ),
        E::SchemaBehind { .. } => (
            S::SERVICE_UNAVAILABLE,
            "Database schema is older than this release".into(),
        ),
        E::Internal(_) => (S::INTERNAL_SERVER_ERROR, "Internal server error".into()),
    }
}

/// A handler's outcome as a response; errors as `{"success": false, "message"}`.
pub fn reply<R: Reply>(result: Result<R, ApiError>) -> Response {
    match result {
        Ok(answer) => answer.into_response(),
        Err(e) => e.render(ErrorKeys::Message),
    }
}

/// Like [`reply`], for `POST …/payment-methods`, whose clients read the error
/// text as `description` (sent together with `message`).
pub fn reply_with_description<R: Reply>(result: Result<R, ApiError>) -> Response {
    match result {
        Ok(answer) => answer.into_response(),
        Err(e) => e.render(ErrorKeys::MessageAndDescription),
    }
}

/// Which keys an error answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKeys {
    Message,
    /// Also `description`: the original `POST …/payment-methods` named it so.
    MessageAndDescription,
}

/// Every failure: `{"success": false, "message": …}`.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    /// Always `false`.
    success: bool,
    message: &'a str,
    /// `POST …/payment-methods` only: the original named the message so.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = String)]
    description: Option<&'a str>,
}

impl ApiError {
    /// The response for this error.
    pub fn render(&self, keys: ErrorKeys) -> Response {
        let (status, message) = self.status_and_message();
        if status.is_server_error() {
            // The detail (which may be internal) goes to the log, not to the client.
            tracing::error!(status = status.as_u16(), error = ?self, "request failed");
        }
        let mut response = error_response(status, &message, keys);
        if matches!(self, ApiError::BodyTimeout) {
            // The rest of the body is not read: the connection cannot be reused.
            response.headers_mut().insert(
                warp::http::header::CONNECTION,
                warp::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

fn error_response(status: StatusCode, message: &str, keys: ErrorKeys) -> Response {
    render::json(
        status,
        &ErrorBody {
            success: false,
            message,
            description: (keys == ErrorKeys::MessageAndDescription).then_some(message),
        },
    )
}

/// The one `recover` of the API: turns every rejection into a JSON error.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    if let Some(err) = rejection.find::<ApiError>() {
        return Ok(err.render(ErrorKeys::Message));
    }
    let (status, message) = if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "Not found")
    } else if rejection.find::<reject::MethodNotAllowed>().is_some() {
        (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
    } else if rejection.find::<reject::InvalidQuery>().is_some() {
        (StatusCode::BAD_REQUEST, "Invalid query string")
    } else if rejection.find::<reject::PayloadTooLarge>().is_some() {
        (StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large")
    } else if rejection.find::<reject::UnsupportedMediaType>().is_some() {
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        )
    } else if rejection
        .find::<warp::filters::cors::CorsForbidden>()
        .is_some()
    {
        (StatusCode::FORBIDDEN, "Origin not allowed")
    } else if rejection.find::<reject::InvalidHeader>().is_some()
        || rejection.find::<reject::MissingHeader>().is_some()
    {
        (StatusCode::BAD_REQUEST, "Invalid request header")
    } else {
        tracing::error!(rejection = ?rejection, "unhandled rejection");
        (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    };
    Ok(error_response(status, message, ErrorKeys::Message))
}

/// For `POST …/payment-methods`: renders this route's own body errors with
/// `description`, and passes routing rejections on to [`recover`].
pub async fn recover_with_description(rejection: Rejection) -> Result<Response, Rejection> {
    match rejection.find::<ApiError>() {
        Some(err) => Ok(err.render(ErrorKeys::MessageAndDescription)),
        None => Err(rejection),
    }
}

// ------------------------------------------------- the error answers, documented

macro_rules! error_answer {
    ($name:ident, $description:literal) => {
        #[derive(ToResponse)]
        #[response(description = $description)]
        #[allow(dead_code)]
        pub struct $name(ErrorBody<'static>);
    };
}

error_answer!(
    BadRequest,
    "Invalid input (malformed JSON, invalid field, bad id)"
);
error_answer!(Unauthorized, "Missing or invalid credentials");
error_answer!(Forbidden, "The caller may not do this");
error_answer!(NotFound, "User not found");
error_answer!(Conflict, "Email or username already in use");
error_answer!(
    Gone,
    "User was deleted (Clerk's user.deleted): never created again"
);
error_answer!(TooLarge, "Body over 64 KiB");
error_answer!(NotJson, "Body is not application/json");
error_answer!(
    Unavailable,
    "Database unavailable (or payments not configured)"
);
error_answer!(ProviderUnavailable, "Payment provider unavailable");
error_answer!(SlowBody, "The body did not arrive in time");

/// The error answers routes share, by what the route takes; a route lists the
/// sets that apply and adds what is its own (409, 410, 502).
macro_rules! error_answers {
    ($(#[$doc:meta])* $name:ident: $($status:literal => $answer:ident),+) => {
        $(#[$doc])*
        #[allow(dead_code)] // a set of documented answers only
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
            > {
                [$(($status, stringify!($answer))),+]
                    .into_iter()
                    .map(|(status, name)| {
                        (status.to_owned(), utoipa::openapi::Ref::from_response_name(name).into())
                    })
                    .collect()
            }
        }
    };
}

error_answers!(
    /// A route with credentials: a bad input, no or bad credentials, no database.
    CallerErrors: "400" => BadRequest, "401" => Unauthorized, "503" => Unavailable
);
error_answers!(
    /// A route acting on the user in its path: also not allowed, no such user.
    PathUserErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden,
        "404" => NotFound, "503" => Unavailable
);
error_answers!(
    /// A route with a JSON body.
    BodyErrors: "413" => TooLarge, "415" => NotJson
);
