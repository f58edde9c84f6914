//! The stored card: read, store (`PUT …/payment`), add through Stripe
//! (`POST …/payment-methods`), forget (both DELETE routes).

use bytes::Bytes;
use serde::Serialize;
use utoipa::ToSchema;
use warp::reply::Reply;

use super::{PathAccess, Result, Service, path_user};
use crate::auth::Caller;
use crate::http::error::{
    BodyErrors, Forbidden, NotFound, PathUserErrors, ProviderUnavailable, Unauthorized, Unavailable,
};
use crate::http::render;
use crate::http::requests::{self, AddPaymentMethodRequest, UpdatePaymentRequest, UserPath};
use crate::http::responses::{CardWire, PaymentInfoWire};

/// The stored card in the frontend's names, after a read or a store.
#[derive(Serialize, ToSchema)]
struct PaymentInfoAnswer<'a> {
    success: bool,
    /// After a store only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    message: Option<&'a str>,
    payment_info: PaymentInfoWire<'a>,
}

#[derive(Serialize, ToSchema)]
struct CardAddedAnswer<'a> {
    success: bool,
    message: &'a str,
    /// The key the original answered with, success included.
    description: &'a str,
    payment_info: CardWire<'a>,
}

#[derive(Serialize, ToSchema)]
struct RemovedAnswer<'a> {
    success: bool,
    message: &'a str,
}

#[utoipa::path(
    get,
    path = "/user/{clerk_user_id}/payment",
    tag = "payments",
    summary = "The stored card, in the frontend's names",
    params(UserPath),
    responses(
        (status = 200, description = "Success", body = PaymentInfoAnswer),
        PathUserErrors,
    )
)]
pub async fn get_payment(raw_id: String, caller: Caller, svc: Service) -> Result<impl Reply> {
    let id = path_user(raw_id, &caller, PathAccess::SelfOrService)?;
    let card = svc.stored_card(&id).await?;
    Ok(render::ok(&PaymentInfoAnswer {
        success: true,
        message: None,
        payment_info: (&card).into(),
    }))
}

#[utoipa::path(
    put,
    path = "/user/{clerk_user_id}/payment",
    tag = "payments",
    summary = "Store the card of an existing Stripe PaymentMethod",
    params(UserPath),
    request_body = UpdatePaymentRequest,
    responses(
        (status = 200, description = "Success", body = PaymentInfoAnswer),
        PathUserErrors,
        BodyErrors,
        (status = 502, response = ProviderUnavailable),
    )
)]
pub async fn put_payment(
    raw_id: String,
    caller: Caller,
    body: Bytes,
    svc: Service,
) -> Result<impl Reply> {
    let id = path_user(raw_id, &caller, PathAccess::SelfOrService)?;
    let pm = requests::parse::<UpdatePaymentRequest>(&body)?.into_domain()?;
    let card = svc.update_payment_method(&id, &pm).await?;
    Ok(render::ok(&PaymentInfoAnswer {
        success: true,
        message: Some("Payment method updated"),
        payment_info: (&card).into(),
    }))
}

/// Errors of this route also carry `description`, the key its clients read
/// (the route renders with `error::reply_with_description`).
#[utoipa::path(
    post,
    path = "/user/{clerk_user_id}/payment-methods",
    tag = "payments",
    summary = "Attach a PaymentMethod, make it the default, store the card (errors also carry `description`)",
    params(UserPath),
    request_body = AddPaymentMethodRequest,
    responses(
        (status = 200, description = "Success", body = CardAddedAnswer),
        PathUserErrors,
        BodyErrors,
        (status = 502, response = ProviderUnavailable),
    )
)]
pub async fn add_payment_method(
    raw_id: String,
    caller: Caller,
    body: Bytes,
    svc: Service,
) -> Result<impl Reply> {
    let id = path_user(raw_id, &caller, PathAccess::SelfOrService)?;
    let pm = requests::parse::<AddPaymentMethodRequest>(&body)?.into_domain()?;
    let card = svc.add_payment_method(&id, &pm).await?;
    const ADDED: &str = "Payment method added successfully";
    Ok(render::ok(&CardAddedAnswer {
        success: true,
        message: ADDED,
        description: ADDED,
        payment_info: (&card).into(),
    }))
}

#[utoipa::path(
    delete,
    path = "/user/{clerk_user_id}/payment",
    tag = "payments",
    summary = "Forget the stored card",
    params(UserPath),
    responses(
        (status = 200, description = "Success", body = RemovedAnswer),
        (status = 400, description = "Invalid id, or the user has no payment method to delete (`User has no payment method to delete`)", body = crate::http::error::ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    )
)]
pub async fn delete_payment(raw_id: String, caller: Caller, svc: Service) -> Result<impl Reply> {
    svc.remove_card(&path_user(raw_id, &caller, PathAccess::SelfOrService)?)
        .await?;
    Ok(render::ok(&RemovedAnswer {
        success: true,
        message: "Payment method removed",
    }))
}

/// The same as `DELETE …/payment`, under the path the frontend's card page uses.
#[utoipa::path(
    delete,
    path = "/user/{clerk_user_id}/payment-methods",
    tag = "payments",
    summary = "Forget the stored card (same as DELETE …/payment)",
    params(UserPath),
    responses(
        (status = 200, description = "Success", body = RemovedAnswer),
        (status = 400, description = "Invalid id, or the user has no payment method to delete (`User has no payment method to delete`)", body = crate::http::error::ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    )
)]
pub async fn delete_payment_methods(
    raw_id: String,
    caller: Caller,
    svc: Service,
) -> Result<impl Reply> {
    delete_payment(raw_id, caller, svc).await
}
