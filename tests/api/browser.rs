//! The frontend's way in: a real headless Chromium loads a page from another
//! origin on loopback and calls `user-api` with `fetch`, exactly as the React
//! app's `apiRequest` does (JSON content type, `Authorization: Bearer <Clerk
//! session token>`), with `AUTH_MODE=clerk` and tokens minted here. A second
//! page, from an origin that is not allowed, must not be able to read anything.
//!
//! Chromium is Debian's (`CHROMIUM`, else `chromium` on the PATH); scripts/test
//! installs it and sets `USERLIB_REQUIRE_EXTERNAL=1`, so there a missing browser
//! fails the run instead of skipping it.

use std::path::PathBuf;
use std::time::Duration;

use crate::common::clerk::{self, SERVICE_TOKEN};
use crate::common::{Options, TestApp};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ME: &str = "user_browser_me";
const RUNNER: &str = "user_browser_runner";

fn chromium() -> Option<PathBuf> {
    crate::common::real_client("CHROMIUM", &["chromium", "chromium-browser"])
}

/// Serves `html` for every GET at `server`'s origin.
async fn serve_page(server: &MockServer, html: String) {
    Mock::given(method("GET"))
        .respond_with(
            // set_body_string would label it text/plain, and the page would not run.
            ResponseTemplate::new(200).set_body_raw(html.into_bytes(), "text/html; charset=utf-8"),
        )
        .mount(server)
        .await;
}

/// Loads `url` in headless Chromium with `extra` flags in a throw-away
/// profile, lets its scripts run (virtual time waits for pending fetches), and
/// returns what it printed: the final DOM, and the console on stderr.
async fn dump_dom(browser: &PathBuf, url: &str, extra: &[String]) -> std::process::Output {
    let profile = std::env::temp_dir().join(format!("userlib-chromium-{}", uuid::Uuid::new_v4()));
    let output = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=30000",
                "--dump-dom",
            ])
            .args(extra)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("Chromium finished within 90 s")
    .expect("Chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    output
}

/// Loads `url` and returns what the page wrote into `<pre id="out">`.
async fn run_page(browser: &PathBuf, url: &str) -> Value {
    let output = dump_dom(browser, url, &[]).await;
    let dom = String::from_utf8_lossy(&output.stdout);
    let start = dom
        .find("<pre id=\"out\">")
        .map(|i| i + "<pre id=\"out\">".len());
    let text = start
        .and_then(|s| dom[s..].find("</pre>").map(|e| &dom[s..s + e]))
        .unwrap_or_else(|| {
            panic!(
                "no result on the page; DOM: {dom}\nstderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("page result is JSON ({e}): {text}"))
}

/// The frontend's `apiRequest` (frontend/src/lib/api-client.ts) with the one
/// change the migration guide asks for: the Clerk token as a bearer header.
/// It records status and body instead of throwing, so the test sees both.
const API_REQUEST_JS: &str = r#"
async function apiRequest(endpoint, method = 'GET', options = {}) {
  const requestOptions = {
    method,
    headers: {
      'Content-Type': 'application/json',
      'Authorization': `Bearer ${await getToken()}`,
      ...options.headers,
    },
  };
  if (options.body) requestOptions.body = JSON.stringify(options.body);
  const url = endpoint.startsWith('http') ? endpoint : `${USER_SERVICE_URL}${endpoint}`;
  try {
    const response = await fetch(url, requestOptions);
    return { status: response.status, body: await response.json() };
  } catch (e) {
    return { error: String(e) };
  }
}
"#;

/// Serves a page at `server`'s origin whose `main()` (in `script`) runs against
/// `api` as the signed-in user of `token`, loads it in Chromium, and returns
/// what `main()` returned.
async fn open_page(
    browser: &PathBuf,
    server: &MockServer,
    api: &str,
    token: &str,
    script: &str,
) -> Value {
    let html = format!(
        "<!doctype html><html><body><pre id=\"out\">pending</pre><script>{API_REQUEST_JS}\n\
         const USER_SERVICE_URL = {api:?};\n\
         async function getToken() {{ return {token:?}; }}\n\
         (async () => {{ let out; try {{ out = await main(); }} catch (e) {{ out = {{ thrown: String(e) }}; }}\n\
         document.getElementById('out').textContent = JSON.stringify(out); }})();\n\
         {script}</script></body></html>"
    );
    serve_page(server, html).await;
    run_page(browser, &format!("{}/index.html", server.uri())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frontend_in_a_real_browser_on_another_origin() {
    let Some(browser) = chromium() else { return };
    let jwks = clerk::jwks_server().await;

    // Both pages exist before the app, so the allowed origin can be configured.
    let allowed = MockServer::start().await;
    let denied = MockServer::start().await;
    let mut env: Vec<(String, String)> = clerk::env(&jwks)
        .into_iter()
        .filter(|(k, _)| k != "CORS_ALLOWED_ORIGINS")
        .collect();
    env.push(("CORS_ALLOWED_ORIGINS".into(), allowed.uri()));
    let app = TestApp::spawn_with(Options {
        env,
        ..Default::default()
    })
    .await;
    app.db.insert_paid_user(ME).await;
    app.db.insert_paid_user(RUNNER).await;
    app.db
        .execute(&format!(
            "UPDATE users SET username = 'ray_runs', first_name = 'Ray', last_name = 'Tan', \
             phone_number = '+6598765432' WHERE clerk_user_id = '{RUNNER}'"
        ))
        .await;
    let api = format!("http://{}/api", app.addr);

    let script = format!(
        r#"
async function main() {{
  const r = {{}};
  // createUserFromClerk / updateUserFromClerk: the sync body the frontend builds.
  r.sync = await apiRequest('/user/sync-from-frontend', 'POST', {{ body: {{
    clerk_user_id: {me:?}, email: 'browser_me@example.com', first_name: 'Bea',
    last_name: 'Row', phone_number: '', username: 'bea', profile_update_only: true }} }});
  // getUserByClerkId: response.user
  r.own = await apiRequest('/user/{me}');
  // api.ts getUserDetails: data.user.username || data.user.firstName of the runner
  r.other = await apiRequest('/user/{runner}');
  r.otherName = r.other.body && r.other.body.user &&
    (r.other.body.user.username || r.other.body.user.firstName);
  r.forbidden = await apiRequest('/user/{runner}/payment');
  r.missing = await apiRequest('/user/user_nobody_here');
  // A request that needs no preflight and carries no credentials: a 401 body
  // the page can read only if the 401 carries CORS headers.
  try {{
    const res = await fetch(USER_SERVICE_URL + '/user/{me}');
    r.unauthenticated = {{ status: res.status, body: await res.json() }};
  }} catch (e) {{ r.unauthenticated = {{ error: String(e) }}; }}
  // deletePaymentMethod: a preflighted DELETE, then again with no card left.
  r.deleted = await apiRequest('/user/{me}/payment-methods', 'DELETE');
  r.deletedAgain = await apiRequest('/user/{me}/payment-methods', 'DELETE');
  r.after = await apiRequest('/user/{me}');
  return r;
}}
"#,
        me = ME,
        runner = RUNNER,
    );
    let r = open_page(&browser, &allowed, &api, &clerk::token(ME), &script).await;

    assert_eq!(r["sync"]["status"], 200, "{r:#}");
    assert_eq!(r["sync"]["body"]["user"]["firstName"], "Bea", "{r:#}");
    assert_eq!(r["sync"]["body"]["user"]["username"], "bea", "{r:#}");

    let own = &r["own"];
    assert_eq!(own["status"], 200, "{r:#}");
    assert_eq!(own["body"]["success"], true);
    assert_eq!(own["body"]["user"]["clerkUserId"], ME);
    assert_eq!(own["body"]["user"]["email"], "browser_me@example.com");
    assert_eq!(
        own["body"]["user"]["userStripeCard"]["payment_method_id"],
        "pm_browser_me"
    );

    assert_eq!(r["other"]["status"], 200, "{r:#}");
    assert_eq!(r["otherName"], "ray_runs", "{r:#}");
    assert_eq!(
        r["other"]["body"],
        json!({"success": true, "user": {"clerkUserId": RUNNER, "username": "ray_runs",
               "firstName": "Ray", "lastName": "Tan"}}),
        "no private field of another user reaches the page"
    );

    for (key, status, message) in [
        ("forbidden", 403, "Forbidden"),
        ("missing", 404, "User not found"),
        ("unauthenticated", 401, "Authentication required"),
        ("deletedAgain", 400, "User has no payment method to delete"),
    ] {
        assert_eq!(r[key]["status"], status, "{key}: {r:#}");
        assert_eq!(r[key]["body"]["success"], false, "{key}: {r:#}");
        assert_eq!(r[key]["body"]["message"], message, "{key}: {r:#}");
    }
    assert_eq!(r["deleted"]["status"], 200, "{r:#}");
    assert_eq!(r["after"]["status"], 200, "{r:#}");
    assert!(
        r["after"]["body"]["user"].get("userStripeCard").is_none(),
        "{r:#}"
    );

    // A page from an origin that is not allowed reads nothing, with or without
    // credentials, preflighted or not.
    let script = format!(
        r#"
async function main() {{
  const r = {{}};
  r.preflighted = await apiRequest('/user/{me}');
  r.service = await apiRequest('/user/{me}', 'GET', {{ headers: {{ Authorization: 'Bearer {service}' }} }});
  for (const [name, init] of [['simple', {{}}], ['credentials', {{ credentials: 'include' }}]]) {{
    try {{
      const res = await fetch(USER_SERVICE_URL + '/health', init);
      r[name] = {{ status: res.status, body: await res.text() }};
    }} catch (e) {{ r[name] = {{ error: String(e) }}; }}
  }}
  return r;
}}
"#,
        me = ME,
        service = SERVICE_TOKEN,
    );
    let r = open_page(&browser, &denied, &api, &clerk::token(ME), &script).await;
    for key in ["preflighted", "service", "simple", "credentials"] {
        let error = r[key]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("Failed to fetch"),
            "{key}: a disallowed origin must read nothing: {r:#}"
        );
    }
    // Nothing the denied page tried changed the data.
    assert_eq!(
        app.row(ME).await.unwrap()["card_payment_method_id"],
        Value::Null
    );
}

/// `/docs` in a real browser: the page must render Swagger UI under its own
/// Content-Security-Policy (a stray quote once made browsers drop the inline
/// script's hash, and the page stayed blank). The CDN is a local stand-in
/// serving the pinned npm release (`SWAGGER_UI_DIST`, fetched by scripts/test)
/// over HTTPS, so the Subresource Integrity hashes are checked for real.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_renders_under_its_content_security_policy() {
    let Some(browser) = chromium() else { return };
    let Some(dist) = std::env::var_os("SWAGGER_UI_DIST")
        .or_else(|| crate::common::skip("SWAGGER_UI_DIST (scripts/test fetches swagger-ui-dist)"))
    else {
        return;
    };
    let app = TestApp::spawn().await;
    let work = std::env::temp_dir().join(format!("userlib-cdn-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&work).unwrap();
    let (cert, key, port_file) = (
        work.join("cert.pem"),
        work.join("key.pem"),
        work.join("port"),
    );
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=unpkg.com",
            "-addext",
            "subjectAltName=DNS:unpkg.com",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/cdn_standin.py");
    let _cdn = tokio::process::Command::new("python3")
        .arg(script)
        .args([&cert, &key, &port_file])
        .env("SWAGGER_UI_DIST", &dist)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut port = None;
    for _ in 0..100 {
        if let Ok(p) = std::fs::read_to_string(&port_file) {
            port = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let port = port.expect("the CDN stand-in started");

    let output = dump_dom(
        &browser,
        &format!("http://{}/docs", app.addr),
        &[
            // unpkg.com is the stand-in, with its throw-away certificate.
            format!("--host-resolver-rules=MAP unpkg.com 127.0.0.1:{port}"),
            "--ignore-certificate-errors".into(),
            // The console (CSP and integrity violations) on stderr.
            "--enable-logging=stderr".into(),
            "--v=0".into(),
        ],
    )
    .await;
    let _ = std::fs::remove_dir_all(&work);
    let dom = String::from_utf8_lossy(&output.stdout);
    let console = String::from_utf8_lossy(&output.stderr);
    for refused in ["Content Security Policy", "Refused to", "integrity"] {
        assert!(
            !console.contains(refused),
            "the console reports '{refused}':\n{console}"
        );
    }
    assert!(
        dom.contains("class=\"swagger-ui\"") && dom.contains("user service API"),
        "Swagger UI rendered the document; DOM: {dom}\nconsole: {console}"
    );
    assert!(
        dom.contains("/user/{clerk_user_id}") || dom.contains("sync-from-frontend"),
        "the operations are listed; DOM: {dom}"
    );
}
