//! The JSON body filter: content type, size limit and reading, before a handler
//! runs. warp's own `content_length_limit` refuses bodies without a
//! Content-Length (chunked uploads); this one counts what it reads instead.

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use warp::{Filter, Rejection};

use super::error::ApiError;

/// Largest request body accepted, in bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Extracts the raw body of a JSON request; parsing is left to the handler, which
/// knows its type.
pub fn json() -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::header::optional::<String>("content-type")
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::body::stream())
        .and_then(
            |content_type: Option<String>, length: Option<u64>, body| async move {
                let declared = if content_type.as_deref().is_some_and(is_json_media_type) {
                    Declared::Json
                } else {
                    Declared::Other
                };
                read(declared, length, body)
                    .await
                    .map_err(warp::reject::custom)
            },
        )
}

/// How long an unauthenticated body may take to arrive. Anyone can open a
/// webhook request, and a body trickled in a byte at a time would otherwise
/// hold its connection slot until the whole-request deadline (30 s): enough of
/// them and `/health` is refused. Clerk's and Stripe's senders deliver their
/// few kilobytes at once; an ingress that buffers request bodies
/// (docs/security.md) takes the slow clients off the service entirely.
pub const UNAUTHENTICATED_BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// The raw body, whatever its content type (signed webhooks: the signature is
/// over the exact bytes), with the same size limit. Its sender is not known
/// until the body is verified, so it must arrive within
/// [`UNAUTHENTICATED_BODY_DEADLINE`].
pub fn raw() -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and(warp::body::stream())
        .and_then(|length: Option<u64>, body| async move {
            tokio::time::timeout(
                UNAUTHENTICATED_BODY_DEADLINE,
                read(Declared::Any, length, body),
            )
            .await
            .unwrap_or(Err(ApiError::BodyTimeout))
            .map_err(warp::reject::custom)
        })
}

/// What the request's `Content-Type` allows its body to be read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declared {
    Json,
    /// Not JSON: only an empty body passes (and is then "required").
    Other,
    /// Whatever it says (signed webhooks).
    Any,
}

/// Reads at most [`MAX_BODY_BYTES`]; a non-empty body must be declared JSON
/// unless any content type is accepted.
async fn read<S, B>(declared: Declared, length: Option<u64>, body: S) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    match length {
        Some(0) => return Err(ApiError::EmptyBody),
        Some(n) if n > MAX_BODY_BYTES as u64 => return Err(ApiError::PayloadTooLarge),
        _ => {}
    }
    let mut body = std::pin::pin!(body);
    let mut buf = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|_| ApiError::UnreadableBody)?;
        if declared == Declared::Other && chunk.has_remaining() {
            return Err(ApiError::UnsupportedMediaType);
        }
        if buf.len() + chunk.remaining() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            buf.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    if buf.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::EmptyBody);
    }
    Ok(buf.freeze())
}

/// `application/json`, or any `…+json`, with optional parameters (`; charset=utf-8`).
fn is_json_media_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::is_json_media_type;

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("Application/JSON; charset=utf-8"));
        assert!(is_json_media_type("application/merge-patch+json"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type("application/x-www-form-urlencoded"));
        assert!(!is_json_media_type(""));
    }
}
