//! Serving the API over TCP with the limits warp's own server leaves unset.
//!
//! warp builds hyper connections without a timer, which disables hyper's
//! header-read timeout: a client sending one header line every few seconds
//! held a connection (and a file descriptor) for ever, and a few thousand of
//! them exhausted the process's descriptors. Here hyper gets a timer, so
//! * a request's headers must arrive within `header_read_timeout` — also the
//!   longest an idle keep-alive connection waits for its next request;
//! * each request must be answered within `request_timeout` (503 otherwise);
//! * at most `max_connections` are served at once: over the cap a connection
//!   gets an immediate 503 and is closed, rather than waiting in a queue.
//!
//! On shutdown the listener closes, idle connections are closed, and in-flight
//! requests get `drain` to finish.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::error::ApiError;

pub use crate::config::HttpLimits as Limits;

/// Serves `app` on `listener` until `shutdown` completes, then drains for at
/// most `drain`. `false` when the drain was cut short.
pub async fn serve(
    listener: TcpListener,
    app: BoxedFilter<(Response,)>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
    drain: Duration,
) -> bool {
    let slots = Arc::new(Semaphore::new(connection_cap(limits.max_connections)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors (or a connection reset before accept):
                    // back off a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics::counter!(crate::metrics::HTTP_CONNECTIONS_REFUSED).increment(1);
            tokio::spawn(refuse(stream));
            continue;
        };
        let service = Deadline {
            inner: TowerToHyperService::new(warp::service(app.clone())),
            timeout: limits.request_timeout,
        };
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections, draining in-flight requests");
    match tokio::time::timeout(drain, graceful.shutdown()).await {
        Ok(()) => true,
        Err(_) => {
            tracing::warn!(timeout = ?drain, "drain timed out; closing remaining connections");
            false
        }
    }
}

/// Descriptors kept free for everything but client connections: the pool, the
/// shared read clients, the listener, logs, DNS.
const RESERVED_DESCRIPTORS: u64 = 128;

/// The configured cap, lowered when the process may not open that many
/// descriptors: at the cap connections must still be accepted (to be refused),
/// which needs a free descriptor.
fn connection_cap(configured: usize) -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let known = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if !known || limit.rlim_cur == libc::RLIM_INFINITY {
        return configured;
    }
    let usable = limit.rlim_cur.saturating_sub(RESERVED_DESCRIPTORS).max(1) as usize;
    if usable < configured {
        tracing::warn!(
            configured,
            usable,
            descriptors = limit.rlim_cur,
            "HTTP_MAX_CONNECTIONS lowered to fit the process's descriptor limit"
        );
        return usable;
    }
    configured
}

/// Over the cap: a short 503 and close, so the client retries elsewhere at
/// once instead of waiting on a connection nobody will serve. The request head
/// is read first (a second at most): HTTP clients treat an answer that comes
/// before their request as a broken connection, not as a 503.
async fn refuse(mut stream: TcpStream) {
    const BODY: &str = r#"{"success":false,"message":"Server busy, please try again"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let mut head = Vec::with_capacity(1024);
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// The whole-request deadline: past it the client gets a 503 and the handler
/// is dropped.
#[derive(Clone)]
struct Deadline<S> {
    inner: S,
    timeout: Duration,
}

impl<S> hyper::service::Service<hyper::Request<Incoming>> for Deadline<S>
where
    S: hyper::service::Service<
            hyper::Request<Incoming>,
            Response = Response,
            Error = std::convert::Infallible,
        >,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Self::Error>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let answer = self.inner.call(request);
        let timeout = self.timeout;
        Box::pin(async move {
            Ok(tokio::time::timeout(timeout, answer)
                .await
                .unwrap_or_else(|_| {
                    Ok(super::error::reply::<Response>(Err(
                        ApiError::RequestTimeout,
                    )))
                })
                .unwrap_or_else(|never| match never {}))
        })
    }
}
