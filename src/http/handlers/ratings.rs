//! Customer and runner ratings (set by the orchestrators after an order).

use bytes::Bytes;
use serde::Serialize;
use utoipa::ToSchema;
use warp::reply::Reply;

use super::{PathAccess, Result, Service, path_user};
use crate::auth::Caller;
use crate::domain::RatingKind;
use crate::http::error::{BodyErrors, PathUserErrors};
use crate::http::render;
use crate::http::requests::{self, RatingRequest, UserPath};

/// The rating set, under the key of its kind.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RatingAnswer {
    success: bool,
    message: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = f64)]
    customer_rating: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = f64)]
    runner_rating: Option<f64>,
}

#[utoipa::path(
    post,
    path = "/user/{clerk_user_id}/update-customer-rating",
    tag = "users",
    summary = "Set the customer rating (services only)",
    security(("bearer" = [])),
    params(UserPath),
    request_body = RatingRequest,
    responses(
        (status = 200, description = "Success", body = RatingAnswer),
        PathUserErrors,
        BodyErrors,
    )
)]
pub async fn update_customer_rating(
    raw_id: String,
    caller: Caller,
    body: Bytes,
    svc: Service,
) -> Result<impl Reply> {
    update_rating(RatingKind::Customer, raw_id, caller, body, svc).await
}

#[utoipa::path(
    post,
    path = "/user/{clerk_user_id}/update-runner-rating",
    tag = "users",
    summary = "Set the runner rating (services only)",
    security(("bearer" = [])),
    params(UserPath),
    request_body = RatingRequest,
    responses(
        (status = 200, description = "Success", body = RatingAnswer),
        PathUserErrors,
        BodyErrors,
    )
)]
pub async fn update_runner_rating(
    raw_id: String,
    caller: Caller,
    body: Bytes,
    svc: Service,
) -> Result<impl Reply> {
    update_rating(RatingKind::Runner, raw_id, caller, body, svc).await
}

async fn update_rating(
    kind: RatingKind,
    raw_id: String,
    caller: Caller,
    body: Bytes,
    svc: Service,
) -> Result<impl Reply> {
    let id = path_user(raw_id, &caller, PathAccess::ServiceOnly)?;
    let rating = requests::parse::<RatingRequest>(&body)?.into_domain()?;
    svc.set_rating(&id, kind, rating).await?;
    let value = Some(rating.value());
    Ok(render::ok(&match kind {
        RatingKind::Customer => RatingAnswer {
            success: true,
            message: "Customer rating updated",
            customer_rating: value,
            runner_rating: None,
        },
        RatingKind::Runner => RatingAnswer {
            success: true,
            message: "Runner rating updated",
            customer_rating: None,
            runner_rating: value,
        },
    }))
}
