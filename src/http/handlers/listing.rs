//! `GET /user/list-users` (services only): every id streamed, or one page.

use serde::Serialize;
use warp::reply::Response;

use super::{Result, Service, allow};
use crate::auth::{Access, Caller};
use crate::http::error::ApiError;
use crate::http::render;
use crate::http::requests::ListRequest;

pub async fn list_users(
    caller: Caller,
    query: std::result::Result<ListRequest, ApiError>,
    svc: Service,
) -> Result<Response> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Page<'a> {
        success: bool,
        user_ids: &'a [String],
        next_cursor: Option<&'a str>,
    }
    allow(&caller, Access::ServiceOnly)?;
    let query = query?;
    match query.limit {
        Some(limit) => {
            let page = svc.user_ids_page(query.after.as_ref(), limit).await?;
            Ok(render::ok(&Page {
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
