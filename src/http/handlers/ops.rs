//! Operational routes: what liveness, readiness and metrics report for the
//! API (`ApiProbes`; the endpoints are `http::ops`'s), the API document.

use serde::Serialize;
use warp::reply::Response;

use super::Service;
use crate::http::ops::{ProbeAnswer, Probes};
use crate::http::render;
use crate::service::ServiceError;

/// What `/health`, `/ready` and `/metrics` report for `user-api`
/// (`http::ops` declares the endpoints for both binaries).
pub struct ApiProbes(pub Service);

impl Probes for ApiProbes {
    /// Alive while it answers: liveness never touches the database.
    fn live(&self) -> ProbeAnswer {
        #[derive(Serialize)]
        struct Health {
            status: &'static str,
            success: bool,
        }
        ProbeAnswer::new(
            true,
            &Health {
                status: "healthy",
                success: true,
            },
        )
    }

    async fn ready(&self) -> ProbeAnswer {
        #[derive(Serialize)]
        struct Ready<'a> {
            success: bool,
            status: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            message: Option<&'a str>,
        }
        match self.0.check_ready().await {
            Ok(()) => ProbeAnswer::new(
                true,
                &Ready {
                    success: true,
                    status: "ready",
                    message: None,
                },
            ),
            Err(e) => {
                tracing::warn!(error = %e, "not ready");
                let message = match e {
                    ServiceError::SchemaBehind { .. } => {
                        "Database schema is older than this release"
                    }
                    _ => "Database unavailable",
                };
                ProbeAnswer::new(
                    false,
                    &Ready {
                        success: false,
                        status: "unavailable",
                        message: Some(message),
                    },
                )
            }
        }
    }

    /// The pool gauges are read at scrape time.
    fn before_scrape(&self) {
        self.0.pool_gauges().record();
    }
}

/// The docs page: Swagger UI from a pinned, integrity-checked CDN release.
pub const DOCS_HTML: &str = include_str!("../docs.html");

/// Only what the docs page needs: Swagger UI's two files from the CDN (their
/// Subresource Integrity hashes are in the page), its one inline script by
/// hash, and `openapi.json` from here. No framing, no other origin.
pub const DOCS_CSP: &str = concat!(
    "default-src 'none'; ",
    "script-src https://unpkg.com 'sha256-menp7HhiqbAMN36qcDW7LhVTWGOGmsHJAKOJApG4Ltw='; ",
    "style-src https://unpkg.com; img-src 'self' data:; connect-src 'self'; ",
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
);

/// Interactive API docs (Swagger UI, loaded by the browser) over `openapi.json`.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "operations",
    summary = "Interactive API documentation",
    security(()),
    responses((status = 200, description = "HTML page", body = String, content_type = "text/html"))
)]
pub async fn docs() -> Response {
    let mut response = render::with_type(DOCS_HTML, "text/html; charset=utf-8");
    response.headers_mut().insert(
        warp::http::header::CONTENT_SECURITY_POLICY,
        warp::http::HeaderValue::from_static(DOCS_CSP),
    );
    response
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use sha2::{Digest, Sha256};

    use super::*;

    /// Editing the page's inline script without updating the CSP would break
    /// the page in every browser: the hash must match.
    #[test]
    fn the_csp_allows_exactly_the_inline_script_and_pinned_files() {
        let start = DOCS_HTML.find("<script>").unwrap() + "<script>".len();
        let end = start + DOCS_HTML[start..].find("</script>").unwrap();
        let hash = base64::engine::general_purpose::STANDARD
            .encode(Sha256::digest(&DOCS_HTML.as_bytes()[start..end]));
        // Parsed as a browser does (directives split on `;`, sources on
        // whitespace) and compared whole: a stray quote makes a source a
        // browser drops, which `contains` would not notice.
        let directives: std::collections::BTreeMap<&str, Vec<&str>> = DOCS_CSP
            .split(';')
            .map(|d| {
                let mut words = d.split_ascii_whitespace();
                (words.next().unwrap(), words.collect())
            })
            .collect();
        let script = format!("'sha256-{hash}'");
        let expected: std::collections::BTreeMap<&str, Vec<&str>> = [
            ("default-src", vec!["'none'"]),
            ("script-src", vec!["https://unpkg.com", script.as_str()]),
            ("style-src", vec!["https://unpkg.com"]),
            ("img-src", vec!["'self'", "data:"]),
            ("connect-src", vec!["'self'"]),
            ("base-uri", vec!["'none'"]),
            ("form-action", vec!["'none'"]),
            ("frame-ancestors", vec!["'none'"]),
        ]
        .into_iter()
        .collect();
        assert_eq!(directives, expected);
        for source in directives.values().flatten() {
            let quoted = source.starts_with('\'') || source.ends_with('\'');
            assert!(
                !quoted || (source.len() > 2 && source.matches('\'').count() == 2),
                "a well-formed source: {source}"
            );
        }
        for tag in ["<script src=", "<link rel=\"stylesheet\""] {
            let at = DOCS_HTML.find(tag).unwrap();
            let element = &DOCS_HTML[at..at + DOCS_HTML[at..].find('>').unwrap()];
            assert!(
                element.contains("swagger-ui-dist@5.35.0/"),
                "pinned: {element}"
            );
            assert!(element.contains("integrity=\"sha384-"), "SRI: {element}");
        }
    }
}
