//! The runner's payout destination (Stripe Connect account).

use bytes::Bytes;
use serde::Serialize;
use utoipa::ToSchema;
use warp::reply::Reply;

use super::{PathAccess, Result, Service, path_user};
use crate::auth::Caller;
use crate::http::error::{
    BadRequest, Forbidden, NotFound, NotJson, TooLarge, Unauthorized, Unavailable,
};
use crate::http::render;
use crate::http::requests::{self, ConnectAccountRequest};
use crate::http::responses::ConnectAccountUserWire;

#[derive(Serialize, ToSchema)]
struct ConnectAccountAnswer<'a> {
    success: bool,
    stripe_connect_account_id: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
struct ConnectAccountSetAnswer<'a> {
    success: bool,
    message: &'a str,
    user: ConnectAccountUserWire<'a>,
}

#[utoipa::path(
    get,
    path = "/user/{clerk_user_id}/connect-account",
    tag = "payments",
    summary = "The Stripe Connect account id",
    params(("clerk_user_id" = String, Path, pattern = "^[A-Za-z0-9_-]{1,255}$")),
    responses(
        (status = 200, description = "Success", body = ConnectAccountAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    )
)]
pub async fn get_connect_account(
    raw_id: String,
    caller: Caller,
    svc: Service,
) -> Result<impl Reply> {
    let id = path_user(raw_id, &caller, PathAccess::SelfOrService)?;
    let account = svc.connect_account(&id).await?;
    Ok(render::ok(&ConnectAccountAnswer {
        success: true,
        stripe_connect_account_id: account.as_deref(),
    }))
}

#[utoipa::path(
    put,
    path = "/user/{clerk_user_id}/connect-account",
    tag = "payments",
    summary = "Set the Stripe Connect account (payout destination; services only)",
    security(("bearer" = [])),
    params(("clerk_user_id" = String, Path, pattern = "^[A-Za-z0-9_-]{1,255}$")),
    request_body = ConnectAccountRequest,
    responses(
        (status = 200, description = "Success", body = ConnectAccountSetAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 503, response = Unavailable),
    )
)]
pub async fn put_connect_account(
    raw_id: String,
    caller: Caller,
    body: Bytes,
    svc: Service,
) -> Result<impl Reply> {
    let id = path_user(raw_id, &caller, PathAccess::ServiceOnly)?;
    let account = requests::parse::<ConnectAccountRequest>(&body)?.into_domain()?;
    svc.set_connect_account(&id, &account).await?;
    Ok(render::ok(&ConnectAccountSetAnswer {
        success: true,
        message: "Stripe Connect account updated",
        user: ConnectAccountUserWire {
            clerk_user_id: id.as_str(),
            stripe_connect_account_id: account.as_str(),
        },
    }))
}
