//! The runner's payout destination (Stripe Connect account).

use bytes::Bytes;
use serde::Serialize;
use warp::reply::Reply;

use super::{PathAccess, Result, Service, path_user};
use crate::auth::Caller;
use crate::http::render;
use crate::http::requests::{self, ConnectAccountRequest};
use crate::http::responses::ConnectAccountUserWire;

pub async fn get_connect_account(
    raw_id: String,
    caller: Caller,
    svc: Service,
) -> Result<impl Reply> {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        stripe_connect_account_id: Option<&'a str>,
    }
    let id = path_user(raw_id, &caller, PathAccess::SelfOrService)?;
    let account = svc.connect_account(&id).await?;
    Ok(render::ok(&Answer {
        success: true,
        stripe_connect_account_id: account.as_deref(),
    }))
}

pub async fn put_connect_account(
    raw_id: String,
    caller: Caller,
    body: Bytes,
    svc: Service,
) -> Result<impl Reply> {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        message: &'a str,
        user: ConnectAccountUserWire<'a>,
    }
    let id = path_user(raw_id, &caller, PathAccess::ServiceOnly)?;
    let account = requests::parse::<ConnectAccountRequest>(&body)?.into_domain()?;
    svc.set_connect_account(&id, &account).await?;
    Ok(render::ok(&Answer {
        success: true,
        message: "Stripe Connect account updated",
        user: ConnectAccountUserWire {
            clerk_user_id: id.as_str(),
            stripe_connect_account_id: account.as_str(),
        },
    }))
}
