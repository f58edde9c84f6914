//! `GET /user/list-users` (services only): every id streamed, or one page.

use serde::Serialize;
use utoipa::ToSchema;
use warp::reply::Response;

use super::{Result, Service, allow};
use crate::auth::{Access, Caller};
use crate::http::error::{ApiError, CallerErrors, Forbidden};
use crate::http::render;
use crate::http::requests::ListRequest;

/// The whole list (no `limit`) or one page; the same shape either way.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UserIdPage<'a> {
    success: bool,
    user_ids: &'a [String],
    /// Where the next page starts (`after`); `null` on the last.
    #[schema(required = false)]
    next_cursor: Option<&'a str>,
}

#[utoipa::path(
    get,
    path = "/user/list-users",
    tag = "users",
    summary = "Every user id, streamed in id order; pages with limit/after",
    security(("bearer" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000),
        ("after" = Option<String>, Query, pattern = "^[A-Za-z0-9_-]{1,255}$",
            description = "Start after this user id (the previous page's nextCursor)"),
    ),
    responses(
        (status = 200, description = "Success", body = UserIdPage),
        CallerErrors,
        (status = 403, response = Forbidden),
    )
)]
pub async fn list_users(
    caller: Caller,
    query: std::result::Result<ListRequest, ApiError>,
    svc: Service,
) -> Result<Response> {
    allow(&caller, Access::ServiceOnly)?;
    let query = query?;
    match query.limit {
        Some(limit) => {
            let page = svc.user_ids_page(query.after.as_ref(), limit).await?;
            Ok(render::ok(&UserIdPage {
                success: true,
                user_ids: &page.ids,
                next_cursor: page.next_cursor.as_deref(),
            }))
        }
        None => Ok(render::user_id_stream(
            svc.user_ids(query.after.as_ref()).await?,
        )),
    }
}
