//! The HTTP layer's one error type and the one place that maps errors to statuses
//! and client messages. Handlers render their own errors through [`render`]; warp's
//! routing and body rejections come through [`recover`], which uses the same
//! mapping, so every failure leaves as `{"success": false, "message": …}`.
//!
//! Messages are fixed texts chosen here; internal error text (SQL, serde, Stripe)
//! only ever reaches the logs.

use std::borrow::Cow;
use std::convert::Infallible;

use serde::Serialize;
use warp::http::StatusCode;
use warp::reject::{self, Rejection};
use warp::reply::Response;

use crate::auth::AuthError;
use crate::db::Conflict;
use crate::domain::ValidationError;
use crate::payments::PaymentsError;
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
    InvalidQuery(Cow<'static, str>),
    Unauthorized(AuthError),
    Forbidden,
    Webhook(WebhookError),
    WebhookNotConfigured,
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
            InvalidQuery(m) => (S::BAD_REQUEST, m.as_ref().into()),
            // Never why a token failed: only that it did.
            Unauthorized(AuthError::Missing) => (S::UNAUTHORIZED, "Authentication required".into()),
            Unauthorized(AuthError::Invalid) => (S::UNAUTHORIZED, "Invalid token".into()),
            Forbidden => (S::FORBIDDEN, "Forbidden".into()),
            Webhook(WebhookError::BadPayload) => (S::BAD_REQUEST, "Invalid webhook payload".into()),
            Webhook(_) => (S::BAD_REQUEST, "Invalid webhook signature".into()),
            WebhookNotConfigured => (S::SERVICE_UNAVAILABLE, "Webhook is not configured".into()),
            Service(e) => service_status(e),
        }
    }
}

fn service_status(e: &ServiceError) -> (StatusCode, Cow<'_, str>) {
    use StatusCode as S;
    match e {
        ServiceError::UserNotFound => (S::NOT_FOUND, "User not found".into()),
        ServiceError::NoStoredCard => (
            S::BAD_REQUEST,
            "No payment method on file for this user".into(),
        ),
        ServiceError::NoCardToDelete => (
            S::BAD_REQUEST,
            "User has no payment method to delete".into(),
        ),
        ServiceError::Conflict(Conflict::Email) => (S::CONFLICT, "Email is already in use".into()),
        ServiceError::Conflict(Conflict::Username) => {
            (S::CONFLICT, "Username is already taken".into())
        }
        ServiceError::Conflict(Conflict::ClerkUserId) => {
            (S::CONFLICT, "User already exists".into())
        }
        ServiceError::Payments(p) => match p {
            PaymentsError::NotConfigured => {
                (S::SERVICE_UNAVAILABLE, "Payments are not configured".into())
            }
            PaymentsError::CardDeclined(msg) => (S::BAD_REQUEST, msg.as_str().into()),
            PaymentsError::PaymentMethodNotFound => {
                (S::BAD_REQUEST, "Payment method not found".into())
            }
            PaymentsError::RateLimited => (
                S::SERVICE_UNAVAILABLE,
                "Payment provider is busy, please try again".into(),
            ),
            PaymentsError::Unavailable(_) | PaymentsError::Invalid(_) => {
                (S::BAD_GATEWAY, "Payment provider is unavailable".into())
            }
        },
        ServiceError::Unavailable(_) => (
            S::SERVICE_UNAVAILABLE,
            "Service temporarily unavailable, please try again".into(),
        ),
        ServiceError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "Internal server error".into()),
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    success: bool,
    message: &'a str,
    /// The original `POST …/payment-methods` named the message `description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
}

/// The response for `err`. With `with_description`, the message is also sent as
/// `description` (for the one route whose clients read that key).
pub fn render(err: &ApiError, with_description: bool) -> Response {
    let (status, message) = err.status_and_message();
    if status.is_server_error() {
        // The detail (which may be internal) goes to the log, not to the client.
        tracing::error!(status = status.as_u16(), error = ?err, "request failed");
    }
    let body = ErrorBody {
        success: false,
        message: &message,
        description: with_description.then_some(&*message),
    };
    super::wire::json(status, &body)
}

fn error_response(status: StatusCode, message: &str) -> Response {
    super::wire::json(
        status,
        &ErrorBody {
            success: false,
            message,
            description: None,
        },
    )
}

/// The one `recover` of the API: turns every rejection into a JSON error.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    if let Some(err) = rejection.find::<ApiError>() {
        return Ok(render(err, false));
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
    Ok(error_response(status, message))
}

/// For `POST …/payment-methods`: renders this route's own body errors with
/// `description`, and passes routing rejections on to [`recover`].
pub async fn recover_with_description(rejection: Rejection) -> Result<Response, Rejection> {
    match rejection.find::<ApiError>() {
        Some(err) => Ok(render(err, true)),
        None => Err(rejection),
    }
}
