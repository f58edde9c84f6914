//! Customer and runner ratings (set by the orchestrators after an order).

use bytes::Bytes;
use serde::Serialize;
use warp::reply::Reply;

use super::{PathAccess, Result, Service, path_user};
use crate::auth::Caller;
use crate::domain::RatingKind;
use crate::http::render;
use crate::http::requests::{self, RatingRequest};

pub async fn update_rating(
    kind: RatingKind,
    raw_id: String,
    caller: Caller,
    body: Bytes,
    svc: Service,
) -> Result<impl Reply> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        success: bool,
        message: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_rating: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        runner_rating: Option<f64>,
    }
    let id = path_user(raw_id, &caller, PathAccess::ServiceOnly)?;
    let rating = requests::parse::<RatingRequest>(&body)?.into_domain()?;
    svc.set_rating(&id, kind, rating).await?;
    let value = Some(rating.value());
    Ok(render::ok(&match kind {
        RatingKind::Customer => Answer {
            success: true,
            message: "Customer rating updated",
            customer_rating: value,
            runner_rating: None,
        },
        RatingKind::Runner => Answer {
            success: true,
            message: "Runner rating updated",
            customer_rating: None,
            runner_rating: value,
        },
    }))
}
