//! The user: read (whole or public view), sync from the frontend, temporary users.

use bytes::Bytes;
use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

use super::{Result, Service, allow};
use crate::auth::{Access, Caller};
use crate::domain::ClerkUserId;
use crate::http::render;
use crate::http::requests::{self, SyncRequest, TempUserRequest, UserQuery};
use crate::http::responses::{CardDetail, PublicUserWire, TempUserWire, UserWire};

/// The user themself and services get the whole user; any other signed-in user
/// gets the public view (the names the order pages show of the other party).
pub async fn get_user(
    raw_id: String,
    caller: Caller,
    query: UserQuery,
    svc: Service,
) -> Result<Response> {
    #[derive(Serialize)]
    struct Answer<U> {
        success: bool,
        user: U,
    }
    let id = ClerkUserId::parse(raw_id)?;
    let user = svc.get_user(&id).await?;
    Ok(if caller.may(Access::SelfOrService(&id)) {
        render::ok(&Answer {
            success: true,
            user: UserWire::new(&user, query.card_detail()),
        })
    } else {
        render::ok(&Answer {
            success: true,
            user: PublicUserWire::from(&user),
        })
    })
}

pub async fn sync_from_frontend(caller: Caller, body: Bytes, svc: Service) -> Result<impl Reply> {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        message: &'a str,
        created: bool,
        user: UserWire<'a>,
    }
    let (profile, provisioning) = requests::parse::<SyncRequest>(&body)?.into_domain()?;
    allow(&caller, Access::SelfOrService(&profile.clerk_user_id))?;
    let synced = svc.sync_user(&profile, provisioning).await?;
    Ok(render::ok(&Answer {
        success: true,
        message: if synced.created {
            "User created"
        } else {
            "User updated"
        },
        created: synced.created,
        user: UserWire::new(&synced.user, CardDetail::Included),
    }))
}

pub async fn create_temp_user(caller: Caller, body: Bytes, svc: Service) -> Result<impl Reply> {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        message: &'a str,
        user: TempUserWire<'a>,
    }
    allow(&caller, Access::ServiceOnly)?;
    let new = requests::parse::<TempUserRequest>(&body)?.into_domain()?;
    let user = svc.create_temp_user(&new).await?;
    Ok(render::json(
        StatusCode::CREATED,
        &Answer {
            success: true,
            message: "Temporary user created",
            user: TempUserWire::from(&user),
        },
    ))
}
