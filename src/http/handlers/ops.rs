//! Operational routes: liveness, readiness, metrics, the API document.

use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;

use super::Service;
use crate::http::render;

pub async fn health() -> Response {
    #[derive(Serialize)]
    struct Health {
        status: &'static str,
        success: bool,
    }
    render::ok(&Health {
        status: "healthy",
        success: true,
    })
}

pub async fn ready(svc: Service) -> Response {
    #[derive(Serialize)]
    struct Ready<'a> {
        success: bool,
        status: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<&'a str>,
    }
    match svc.check_ready().await {
        Ok(()) => render::ok(&Ready {
            success: true,
            status: "ready",
            message: None,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            render::json(
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

/// Prometheus text format; the pool gauges are read at scrape time.
pub async fn metrics(svc: Service) -> Response {
    svc.pool_gauges().record();
    render::with_type(crate::metrics::render(), crate::metrics::CONTENT_TYPE)
}

/// The OpenAPI 3 document, kept next to the routes (`openapi.json`).
pub async fn openapi() -> Response {
    render::with_type(include_str!("../openapi.json"), "application/json")
}

/// Interactive API docs (Swagger UI, loaded by the browser) over `openapi.json`.
pub async fn docs() -> Response {
    render::with_type(include_str!("../docs.html"), "text/html; charset=utf-8")
}
