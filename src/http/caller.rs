//! The authentication filter: the caller from `Authorization: Bearer …` or the
//! `__session` cookie (Clerk's), or a 401 rejection.

use warp::{Filter, Rejection};

use super::error::ApiError;
use crate::auth::{Authenticator, Caller};

pub fn caller(
    authenticator: Authenticator,
) -> impl Filter<Extract = (Caller,), Error = Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and(warp::cookie::optional::<String>("__session"))
        .and_then(move |header: Option<String>, cookie: Option<String>| {
            let authenticator = authenticator.clone();
            async move {
                let bearer = header.as_deref().and_then(|h| {
                    let (scheme, token) = h.split_once(' ')?;
                    scheme.eq_ignore_ascii_case("bearer").then_some(token)
                });
                authenticator
                    .authenticate(bearer.or(cookie.as_deref()))
                    .await
                    .map_err(|e| warp::reject::custom(ApiError::Unauthorized(e)))
            }
        })
}
