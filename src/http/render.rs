//! Turning answers into HTTP responses: JSON bodies, fixed bodies with a
//! content type, the streamed id list. Errors (`error.rs`, which also turns a
//! handler's `Result<impl Reply, ApiError>` into a response) and answers
//! (`responses.rs`) both render through here; this module knows neither.

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tracing::Instrument;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::{Reply, Response};

use crate::service::ServiceError;

/// A JSON response. Serialising our own wire types cannot fail; if it ever did,
/// the client gets a bare 500 rather than a half-written body.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let (status, bytes) = match serde_json::to_vec(body) {
        Ok(bytes) => (status, bytes),
        Err(e) => {
            tracing::error!(error = %e, "serialising a response failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                br#"{"success":false,"message":"Internal server error"}"#.to_vec(),
            )
        }
    };
    let mut response = Response::new(bytes.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub fn ok<T: Serialize>(body: &T) -> Response {
    json(StatusCode::OK, body)
}

/// A 200 with `body` as `content_type`.
pub fn with_type(body: impl Into<Bytes>, content_type: &'static str) -> Response {
    let mut response = Response::new(body.into().into());
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Bytes per body chunk when streaming ids.
const STREAM_CHUNK: usize = 16 * 1024;

/// How long a reader may leave a chunk untaken before the stream is cut: the
/// query holds a pooled connection while it streams, and a client that stops
/// reading must not keep it for ever.
pub const STREAM_STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Streams `{"success":true,"userIds":[…]}` as rows arrive. A task reads the rows
/// and hands chunks to the response through a small channel, so a slow client
/// applies back-pressure to the query instead of growing a buffer. If the database
/// fails mid-stream, the body is cut off with an error: the client sees a broken
/// response, never a well-formed but truncated list.
pub fn user_id_stream(
    ids: impl Stream<Item = Result<String, ServiceError>> + Send + 'static,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    let task = async move {
        let mut ids = std::pin::pin!(ids);
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
            if buf.len() >= STREAM_CHUNK {
                match tokio::time::timeout(STREAM_STALL_TIMEOUT, tx.send(Ok(buf.split().freeze())))
                    .await
                {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return, // the client went away
                    Err(_) => {
                        tracing::warn!(
                            timeout = ?STREAM_STALL_TIMEOUT,
                            "list-users reader stalled; cutting the stream to free its connection"
                        );
                        return;
                    }
                }
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
