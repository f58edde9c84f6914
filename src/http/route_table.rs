//! The table of every route (method, path template), read off the OpenAPI
//! document: metrics and logs label requests by these templates, 405 answers
//! list their methods from them, and the operability test checks that the
//! router serves exactly them.

/// Every route the API serves (method, path template with `{id}`), without
/// the `/api` prefix: read off the OpenAPI document (`openapi.rs`), so a route
/// is declared once, on its handler. Literal paths come before `{id}` ones.
pub use super::openapi::ROUTES;

/// The route template a request path belongs to (`/api` removed), or
/// `unmatched`: bounded label values whatever paths clients send.
pub fn template(path: &str) -> &'static str {
    ROUTES
        .iter()
        .map(|(_, t)| *t)
        .find(|t| template_matches(t, path))
        .unwrap_or("unmatched")
}

/// Whether `path` (with or without the `/api` prefix) fits `template`, where
/// `{id}` stands for one non-empty segment.
pub fn template_matches(template: &str, path: &str) -> bool {
    let path = match path.strip_prefix("/api") {
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    };
    let mut given = path.trim_end_matches('/').split('/').skip(1);
    template.split('/').skip(1).all(|t| match given.next() {
        Some(g) => t == g || (t == "{id}" && !g.is_empty()),
        None => false,
    }) && given.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::template;

    #[test]
    fn paths_map_to_bounded_templates() {
        assert_eq!(template("/api/user/user_1"), "/user/{id}");
        assert_eq!(template("/user/user_1/payment"), "/user/{id}/payment");
        assert_eq!(template("/api/user/list-users"), "/user/list-users");
        assert_eq!(template("/user/temp"), "/user/temp");
        assert_eq!(template("/api/health"), "/health");
        assert_eq!(template("/apiary/health"), "unmatched");
        assert_eq!(template("/user/a/b/c"), "unmatched");
        assert_eq!(template("/user//payment"), "unmatched");
        assert_eq!(template("/"), "unmatched");
    }
}
