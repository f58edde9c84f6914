//! The runner's payout destination (Stripe Connect account).

use bytes::Bytes;
use serde::Serialize;
use utoipa::ToSchema;
use warp::reply::Reply;

use super::{PathAccess, Result, Service, path_user};
use crate::auth::Caller;
use crate::http::error::{BodyErrors, PathUserErrors};
use crate::http::render;
use crate::http::requests::{self, ConnectAccountRequest, UserPath};
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
    params(UserPath),
    responses(
        (status = 200, description = "Success", body = ConnectAccountAnswer),
        PathUserErrors,
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
    params(UserPath),
    request_body = ConnectAccountRequest,
    responses(
        (status = 200, description = "Success", body = ConnectAccountSetAnswer),
        PathUserErrors,
        BodyErrors,
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
