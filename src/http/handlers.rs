//! Handlers: plain async functions, one per route. Each parses its inputs into
//! domain values (via `wire`), calls one use case, and renders the wire answer;
//! any error is rendered by `error::render`, so a handler always yields a response.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use serde::Serialize;
use tracing::Instrument;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::{Reply, Response};

use super::error::{ApiError, render};
use super::wire::{self, CardDetail, CardWire, PaymentInfoWire, PublicUserWire, UserWire};
use crate::auth::{Access, Caller};
use crate::db::UserIdStream;
use crate::domain::{ClerkUserId, RatingKind};
use crate::metrics as m;
use crate::service::{MAX_PAGE_SIZE, UserService};

pub type Svc = Arc<UserService>;
type Result<T> = std::result::Result<T, ApiError>;

pub(super) fn respond(result: Result<Response>) -> Response {
    result.unwrap_or_else(|e| render(&e, false))
}

fn user_id(raw: String) -> Result<ClerkUserId> {
    Ok(ClerkUserId::parse(raw)?)
}

/// The path's user id, if the caller may act on it with `access`.
fn allowed_user(raw: String, caller: &Caller, service_only: bool) -> Result<ClerkUserId> {
    let id = user_id(raw)?;
    let access = if service_only {
        Access::ServiceOnly
    } else {
        Access::SelfOrService(&id)
    };
    allow(caller, access)?;
    Ok(id)
}

fn allow(caller: &Caller, access: Access<'_>) -> Result<()> {
    if caller.may(access) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

#[derive(Serialize)]
struct Message<'a> {
    success: bool,
    message: &'a str,
}

fn message(text: &str) -> Response {
    wire::ok(&Message {
        success: true,
        message: text,
    })
}

pub async fn health() -> Response {
    #[derive(Serialize)]
    struct Health {
        status: &'static str,
        success: bool,
    }
    wire::ok(&Health {
        status: "healthy",
        success: true,
    })
}

/// Prometheus text format; the pool gauges are read at scrape time.
pub async fn metrics(svc: Svc) -> Response {
    let status = svc.repository().pool().status();
    let in_use = status.size.saturating_sub(status.available);
    metrics::gauge!(m::DB_POOL_CONNECTIONS, "state" => "in_use").set(in_use as f64);
    metrics::gauge!(m::DB_POOL_CONNECTIONS, "state" => "idle").set(status.available as f64);
    metrics::gauge!(m::DB_POOL_WAITING).set(status.waiting as f64);
    with_type(m::render(), "text/plain; version=0.0.4; charset=utf-8")
}

/// A 200 with `body` as `content_type`.
fn with_type(body: impl Into<warp::hyper::body::Bytes>, content_type: &'static str) -> Response {
    let mut response = Response::new(body.into().into());
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The OpenAPI 3 document, kept next to the routes (`openapi.json`).
pub async fn openapi() -> Response {
    with_type(include_str!("openapi.json"), "application/json")
}

/// Interactive API docs (Swagger UI, loaded by the browser) over `openapi.json`.
pub async fn docs() -> Response {
    with_type(include_str!("docs.html"), "text/html; charset=utf-8")
}

pub async fn ready(svc: Svc) -> Response {
    #[derive(Serialize)]
    struct Ready<'a> {
        success: bool,
        status: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<&'a str>,
    }
    match svc.check_ready().await {
        Ok(()) => wire::ok(&Ready {
            success: true,
            status: "ready",
            message: None,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            wire::json(
                StatusCode::SERVICE_UNAVAILABLE,
                &Ready {
                    success: false,
                    status: "unavailable",
                    message: Some("Database unavailable"),
                },
            )
        }
    }
}

/// The user themself and services get the whole user; any other signed-in user
/// gets the public view (the names the order pages show of the other party).
pub async fn get_user(
    raw_id: String,
    caller: Caller,
    query: wire::UserQuery,
    svc: Svc,
) -> Response {
    #[derive(Serialize)]
    struct Answer<U> {
        success: bool,
        user: U,
    }
    respond(
        async {
            let id = user_id(raw_id)?;
            let user = svc.get_user(&id).await?;
            Ok(if caller.may(Access::SelfOrService(&id)) {
                wire::ok(&Answer {
                    success: true,
                    user: UserWire::new(&user, query.card_detail()),
                })
            } else {
                wire::ok(&Answer {
                    success: true,
                    user: PublicUserWire::from(&user),
                })
            })
        }
        .await,
    )
}

pub async fn get_payment(raw_id: String, caller: Caller, svc: Svc) -> Response {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        payment_info: PaymentInfoWire<'a>,
    }
    respond(
        async {
            let card = svc
                .stored_card(&allowed_user(raw_id, &caller, false)?)
                .await?;
            Ok(wire::ok(&Answer {
                success: true,
                payment_info: (&card).into(),
            }))
        }
        .await,
    )
}

pub async fn get_connect_account(raw_id: String, caller: Caller, svc: Svc) -> Response {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        stripe_connect_account_id: Option<&'a str>,
    }
    respond(
        async {
            let account = svc
                .connect_account(&allowed_user(raw_id, &caller, false)?)
                .await?;
            Ok(wire::ok(&Answer {
                success: true,
                stripe_connect_account_id: account.as_deref(),
            }))
        }
        .await,
    )
}

pub async fn put_connect_account(
    raw_id: String,
    caller: Caller,
    body: Bytes,
    svc: Svc,
) -> Response {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        message: &'a str,
        user: wire::ConnectAccountUserWire<'a>,
    }
    respond(
        async {
            let id = allowed_user(raw_id, &caller, true)?;
            let account = wire::parse::<wire::ConnectAccountRequest>(&body)?.into_domain()?;
            svc.set_connect_account(&id, &account).await?;
            Ok(wire::ok(&Answer {
                success: true,
                message: "Stripe Connect account updated",
                user: wire::ConnectAccountUserWire {
                    clerk_user_id: id.as_str(),
                    stripe_connect_account_id: account.as_str(),
                },
            }))
        }
        .await,
    )
}

pub async fn update_rating(
    kind: RatingKind,
    raw_id: String,
    caller: Caller,
    body: Bytes,
    svc: Svc,
) -> Response {
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
    respond(
        async {
            let id = allowed_user(raw_id, &caller, true)?;
            let rating = wire::parse::<wire::RatingRequest>(&body)?.into_domain()?;
            svc.set_rating(&id, kind, rating).await?;
            let value = Some(rating.value());
            Ok(wire::ok(&match kind {
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
        .await,
    )
}

pub async fn create_temp_user(caller: Caller, body: Bytes, svc: Svc) -> Response {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        message: &'a str,
        user: wire::TempUserWire<'a>,
    }
    respond(
        async {
            allow(&caller, Access::ServiceOnly)?;
            let new = wire::parse::<wire::TempUserRequest>(&body)?.into_domain()?;
            let user = svc.create_temp_user(&new).await?;
            Ok(wire::json(
                StatusCode::CREATED,
                &Answer {
                    success: true,
                    message: "Temporary user created",
                    user: wire::TempUserWire {
                        clerk_user_id: &user.clerk_user_id,
                        email: &user.email,
                        first_name: &user.first_name,
                        last_name: &user.last_name,
                    },
                },
            ))
        }
        .await,
    )
}

pub async fn sync_from_frontend(caller: Caller, body: Bytes, svc: Svc) -> Response {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        message: &'a str,
        created: bool,
        user: UserWire<'a>,
    }
    respond(
        async {
            let (profile, provision) = wire::parse::<wire::SyncRequest>(&body)?.into_domain()?;
            allow(&caller, Access::SelfOrService(&profile.clerk_user_id))?;
            let (user, created) = svc.sync_user(&profile, provision).await?;
            Ok(wire::ok(&Answer {
                success: true,
                message: if created {
                    "User created"
                } else {
                    "User updated"
                },
                created,
                user: UserWire::new(&user, CardDetail::Included),
            }))
        }
        .await,
    )
}

pub async fn put_payment(raw_id: String, caller: Caller, body: Bytes, svc: Svc) -> Response {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        message: &'a str,
        payment_info: PaymentInfoWire<'a>,
    }
    respond(
        async {
            let id = allowed_user(raw_id, &caller, false)?;
            let pm = wire::parse::<wire::UpdatePaymentRequest>(&body)?.into_domain()?;
            let card = svc.update_payment_method(&id, &pm).await?;
            Ok(wire::ok(&Answer {
                success: true,
                message: "Payment method updated",
                payment_info: (&card).into(),
            }))
        }
        .await,
    )
}

/// Errors of this route also carry `description`, the key its clients read.
pub async fn add_payment_method(raw_id: String, caller: Caller, body: Bytes, svc: Svc) -> Response {
    #[derive(Serialize)]
    struct Answer<'a> {
        success: bool,
        message: &'a str,
        payment_info: CardWire<'a>,
    }
    let result: Result<Response> = async {
        let id = allowed_user(raw_id, &caller, false)?;
        let pm = wire::parse::<wire::AddPaymentMethodRequest>(&body)?.into_domain()?;
        let card = svc.add_payment_method(&id, &pm).await?;
        Ok(wire::ok(&Answer {
            success: true,
            message: "Payment method added",
            payment_info: (&card).into(),
        }))
    }
    .await;
    result.unwrap_or_else(|e| render(&e, true))
}

pub async fn delete_payment(raw_id: String, caller: Caller, svc: Svc) -> Response {
    respond(
        async {
            svc.remove_card(&allowed_user(raw_id, &caller, false)?)
                .await?;
            Ok(message("Payment method removed"))
        }
        .await,
    )
}

pub async fn list_users(caller: Caller, raw_query: String, svc: Svc) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Page<'a> {
        success: bool,
        user_ids: &'a [String],
        next_cursor: Option<&'a str>,
    }
    respond(
        async {
            allow(&caller, Access::ServiceOnly)?;
            let query = wire::ListQuery::parse(&raw_query)?;
            let after = query
                .after
                .map(ClerkUserId::parse)
                .transpose()
                .map_err(|_| ApiError::InvalidQuery("after must be a user id".into()))?;
            let limit = query
                .limit
                .map(|l| {
                    l.parse::<i64>()
                        .ok()
                        .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                })
                .map(|l| {
                    l.ok_or(ApiError::InvalidQuery(
                        "limit must be an integer from 1 to 1000".into(),
                    ))
                })
                .transpose()?;
            match limit {
                Some(limit) => {
                    let (ids, next) = svc.user_ids_page(after.as_ref(), limit).await?;
                    Ok(wire::ok(&Page {
                        success: true,
                        user_ids: &ids,
                        next_cursor: next.as_deref(),
                    }))
                }
                None => Ok(stream_user_ids(svc.user_ids(after.as_ref()).await?)),
            }
        }
        .await,
    )
}

/// Bytes per body chunk when streaming ids.
const STREAM_CHUNK: usize = 16 * 1024;

/// Streams `{"success":true,"userIds":[…]}` as rows arrive. A task reads the rows
/// and hands chunks to the response through a small channel, so a slow client
/// applies back-pressure to the query instead of growing a buffer. If the database
/// fails mid-stream, the body is cut off with an error: the client sees a broken
/// response, never a well-formed but truncated list.
fn stream_user_ids(mut ids: UserIdStream) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::result::Result<Bytes, std::io::Error>>(2);
    let task = async move {
        let mut buf = BytesMut::with_capacity(STREAM_CHUNK + 512);
        buf.put_slice(br#"{"success":true,"userIds":["#);
        let mut first = true;
        while let Some(item) = ids.next().await {
            let id = match item {
                Ok(id) => id,
                Err(e) => {
                    tracing::error!(error = %e, "listing users failed mid-stream");
                    let _ = tx
                        .send(Err(std::io::Error::other("listing users failed")))
                        .await;
                    return;
                }
            };
            if !first {
                buf.put_u8(b',');
            }
            first = false;
            // Ids are [A-Za-z0-9_-] by construction, so they need no escaping.
            buf.put_u8(b'"');
            buf.put_slice(id.as_bytes());
            buf.put_u8(b'"');
            if buf.len() >= STREAM_CHUNK && tx.send(Ok(buf.split().freeze())).await.is_err() {
                return; // the client went away
            }
        }
        buf.put_slice(b"]}");
        let _ = tx.send(Ok(buf.freeze())).await;
    };
    tokio::spawn(task.in_current_span());
    let mut response =
        warp::reply::stream(tokio_stream::wrappers::ReceiverStream::new(rx)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
