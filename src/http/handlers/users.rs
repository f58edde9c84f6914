//! The user: read (whole or public view, one or many), sync from the frontend,
//! temporary users.

use bytes::Bytes;
use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

use super::{Result, Service, allow};
use crate::auth::{Access, Caller, SignedIn};
use crate::domain::{ClerkUserId, Email};
use crate::http::error::{ApiError, BodyErrors, CallerErrors, Conflict, Forbidden, Gone, NotFound};
use crate::http::render;
use crate::http::requests::{
    self, PublicLookup, SyncRequest, TempUserRequest, UserPath, UserQuery,
};
use crate::http::responses::{CardDetail, PublicUserWire, TempUserWire, UserWire};
use crate::service::ServiceError;

/// The user object is nested under `user`, never spread over the top level.
/// The user themself and service tokens get `User`; any other signed-in user
/// gets `PublicUser`.
#[derive(Serialize, ToSchema)]
struct UserAnswer<'a> {
    success: bool,
    user: UserView<'a>,
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum UserView<'a> {
    Whole(UserWire<'a>),
    Public(PublicUserWire<'a>),
}

/// The user themself and services get the whole user; any other signed-in user
/// gets the public view (the names the order pages show of the other party).
#[utoipa::path(
    get,
    path = "/user/{clerk_user_id}",
    tag = "users",
    summary = "The user object (the whole user for themself and services, the public view for other signed-in users)",
    description = "The user themself and service tokens get every field (`User`, with `userStripeCard` unless `includePaymentDetails=false`). Any other signed-in user gets `PublicUser`: clerkUserId, username, firstName, lastName — what a customer's and a runner's order pages show of the other party.",
    params(
        UserPath,
        ("includePaymentDetails" = Option<bool>, Query, description = "Only `false` (any case) omits userStripeCard"),
    ),
    responses(
        (status = 200, description = "Success", body = UserAnswer),
        CallerErrors,
        (status = 404, response = NotFound),
    )
)]
pub async fn get_user(
    raw_id: String,
    caller: Caller,
    query: UserQuery,
    svc: Service,
) -> Result<Response> {
    let id = ClerkUserId::parse(raw_id)?;
    let user = svc.get_user(&id).await?;
    let user = if caller.may(Access::SelfOrService(&id)) {
        UserView::Whole(UserWire::new(&user, query.card_detail()))
    } else {
        UserView::Public(PublicUserWire::from(&user))
    };
    Ok(render::ok(&UserAnswer {
        success: true,
        user,
    }))
}

/// `GET /users/public?ids=…`: the public views of those of `ids` that exist,
/// for any signed-in user or service — one call per order list instead of one
/// per row. Only the public view, whoever asks: the whole user is one
/// `GET /user/{id}` away for those allowed to see it.
#[utoipa::path(
    get,
    path = "/users/public",
    tag = "users",
    summary = "The public views of up to 100 users in one call (one per order list instead of one per row)",
    description = "For any signed-in user or service. Every answer is the public view (`PublicUser`: clerkUserId, username, firstName, lastName), whoever asks; the whole user stays behind `GET /user/{clerk_user_id}`. Other services can also keep a copy of every public view from the `user_directory` topic (docs/user-directory.md).",
    params(
        ("ids" = String, Query, description = "Comma-separated user ids, 1 to 100",
            pattern = "^[A-Za-z0-9_-]{1,255}(,[A-Za-z0-9_-]{1,255}){0,99}$"),
    ),
    responses(
        (status = 200, description = "Success: the users of `ids` that exist, in the order asked, each once; an unknown or deleted id is left out", body = PublicUsersAnswer),
        CallerErrors,
    )
)]
pub async fn get_public_users(
    _caller: Caller,
    lookup: std::result::Result<PublicLookup, ApiError>,
    svc: Service,
) -> Result<Response> {
    let users = svc.find_users(&lookup?.ids).await?;
    Ok(render::ok(&PublicUsersAnswer {
        success: true,
        users: users.iter().map(PublicUserWire::from).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
struct PublicUsersAnswer<'a> {
    success: bool,
    users: Vec<PublicUserWire<'a>>,
}

#[derive(Serialize, ToSchema)]
struct SyncAnswer<'a> {
    success: bool,
    /// `User created` or `User updated`.
    message: &'a str,
    created: bool,
    user: UserWire<'a>,
}

#[utoipa::path(
    post,
    path = "/user/sync-from-frontend",
    tag = "users",
    summary = "Create the user the first time, update the profile afterwards (Stripe provisioning for new users)",
    request_body = SyncRequest,
    responses(
        (status = 200, description = "Success", body = SyncAnswer),
        CallerErrors,
        BodyErrors,
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
    )
)]
pub async fn sync_from_frontend(caller: Caller, body: Bytes, svc: Service) -> Result<impl Reply> {
    let (mut profile, provisioning) = requests::parse::<SyncRequest>(&body)?.into_domain()?;
    allow(&caller, Access::SelfOrService(&profile.clerk_user_id))?;
    if let Caller::User(me) = &caller {
        profile.email = Some(verified_email(me, &svc).await?);
    }
    let synced = svc.sync_user(&profile, provisioning).await?;
    Ok(render::ok(&SyncAnswer {
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

#[derive(Serialize, ToSchema)]
struct TempUserAnswer<'a> {
    success: bool,
    message: &'a str,
    user: TempUserWire<'a>,
}

/// Services only; the id is generated, so it never collides with a user,
/// deleted or not.
#[utoipa::path(
    post,
    path = "/user/temp",
    tag = "users",
    summary = "Create a temporary user temp_<32 hex>",
    security(("bearer" = [])),
    request_body = TempUserRequest,
    responses(
        (status = 201, description = "Created", body = TempUserAnswer),
        CallerErrors,
        BodyErrors,
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    )
)]
pub async fn create_temp_user(caller: Caller, body: Bytes, svc: Service) -> Result<impl Reply> {
    allow(&caller, Access::ServiceOnly)?;
    let new = requests::parse::<TempUserRequest>(&body)?.into_domain()?;
    let user = svc.create_temp_user(&new).await?;
    Ok(render::json(
        StatusCode::CREATED,
        &TempUserAnswer {
            success: true,
            message: "Temporary user created",
            user: TempUserWire::from(&user),
        },
    ))
}
