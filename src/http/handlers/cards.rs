//! The stored card: read, store (`PUT …/payment`), add through Stripe
//! (`POST …/payment-methods`), forget (both DELETE routes).

use bytes::Bytes;
use serde::Serialize;
use warp::reply::Reply;

use super::{PathAccess, Result, Service, path_user};
use crate::auth::Caller;
use crate::http::render;
use crate::http::requests::{self, AddPaymentMethodRequest, UpdatePaymentRequest};
use crate::http::responses::{CardWire, PaymentInfoWire};

/// The stored card in the frontend's names, after a read or a store.
#[derive(Serialize)]
struct PaymentInfoAnswer<'a> {
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    payment_info: PaymentInfoWire<'a>,
}

pub async fn get_payment(raw_id: String, caller: Caller, svc: Service) -> Result<impl Reply> {
    let id = path_user(raw_id, &caller, PathAccess::SelfOrService)?;
    let card = svc.stored_card(&id).await?;
    Ok(render::ok(&PaymentInfoAnswer {
        success: true,
        message: None,
        payment_info: (&card).into(),
    }))
}

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
pub async fn add_payment_method(
    raw_id: String,
    caller: Caller,
    body: Bytes,
    svc: Service,
) -> Result<impl Reply> {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        message: &'a str,
        /// The key the original answered with, success included.
        description: &'a str,
        payment_info: CardWire<'a>,
    }
    let id = path_user(raw_id, &caller, PathAccess::SelfOrService)?;
    let pm = requests::parse::<AddPaymentMethodRequest>(&body)?.into_domain()?;
    let card = svc.add_payment_method(&id, &pm).await?;
    const ADDED: &str = "Payment method added successfully";
    Ok(render::ok(&Answer {
        success: true,
        message: ADDED,
        description: ADDED,
        payment_info: (&card).into(),
    }))
}

pub async fn delete_payment(raw_id: String, caller: Caller, svc: Service) -> Result<impl Reply> {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        message: &'a str,
    }
    svc.remove_card(&path_user(raw_id, &caller, PathAccess::SelfOrService)?)
        .await?;
    Ok(render::ok(&Answer {
        success: true,
        message: "Payment method removed",
    }))
}
