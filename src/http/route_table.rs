//! The table of every route (method, path template): the router serves these,
//! metrics and logs label requests by them, the OpenAPI test checks the
//! document against them, and 405 answers list their methods from them.

/// Every route the API serves (method, path template), without the `/api`
/// prefix. Metrics and logs label requests with these templates, and the OpenAPI
/// test checks the document against this list and the list against the router.
/// Literal paths come before `{id}` ones, as in the router.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("POST", "/webhooks/clerk"),
    ("POST", "/webhooks/stripe"),
    ("GET", "/user/list-users"),
    ("POST", "/user/temp"),
    ("POST", "/user/sync-from-frontend"),
    ("GET", "/users/public"),
    ("GET", "/user/{id}"),
    ("GET", "/user/{id}/payment"),
    ("PUT", "/user/{id}/payment"),
    ("DELETE", "/user/{id}/payment"),
    ("GET", "/user/{id}/connect-account"),
    ("PUT", "/user/{id}/connect-account"),
    ("POST", "/user/{id}/update-customer-rating"),
    ("POST", "/user/{id}/update-runner-rating"),
    ("POST", "/user/{id}/payment-methods"),
    ("DELETE", "/user/{id}/payment-methods"),
];

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
