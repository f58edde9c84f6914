//! The user: read (whole or public view, one or many), sync from the frontend,
//! temporary users.

use bytes::Bytes;
use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

use super::{Result, Service, allow};
use crate::auth::{Access, Caller, SignedIn};
use crate::domain::{ClerkUserId, Email};
use crate::http::error::ApiError;
use crate::http::render;
use crate::http::requests::{self, PublicLookup, SyncRequest, TempUserRequest, UserQuery};
use crate::http::responses::{CardDetail, PublicUserWire, TempUserWire, UserWire};
use crate::service::ServiceError;

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

/// `GET /users/public?ids=…`: the public views of those of `ids` that exist,
/// for any signed-in user or service — one call per order list instead of one
/// per row. Only the public view, whoever asks: the whole user is one
/// `GET /user/{id}` away for those allowed to see it.
pub async fn get_public_users(
    _caller: Caller,
    lookup: std::result::Result<PublicLookup, ApiError>,
    svc: Service,
) -> Result<Response> {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        users: Vec<PublicUserWire<'a>>,
    }
    let users = svc.find_users(&lookup?.ids).await?;
    Ok(render::ok(&Answer {
        success: true,
        users: users.iter().map(PublicUserWire::from).collect(),
    }))
}

pub async fn sync_from_frontend(caller: Caller, body: Bytes, svc: Service) -> Result<impl Reply> {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        message: &'a str,
        created: bool,
        user: UserWire<'a>,
    }
    let (mut profile, provisioning) = requests::parse::<SyncRequest>(&body)?.into_domain()?;
    allow(&caller, Access::SelfOrService(&profile.clerk_user_id))?;
    if let Caller::User(me) = &caller {
        profile.email = Some(verified_email(me, &svc).await?);
    }
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

/// A signed-in user's email comes from Clerk, never from the request body
/// (anyone could otherwise claim the address of someone who has not signed up
/// yet): the session token's email claim, else what Clerk's signed webhook
/// stored. Services are trusted with the body's.
async fn verified_email(me: &SignedIn, svc: &Service) -> Result<Email> {
    if let Some(email) = &me.email {
        return Ok(email.clone());
    }
    match svc.get_user(&me.id).await {
        Ok(user) => Ok(Email::parse(&user.email)?),
        Err(ServiceError::NotFound) => Err(ApiError::EmailNotVerified),
        Err(e) => Err(e.into()),
    }
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
