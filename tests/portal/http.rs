//! Bad input never answers 500; security headers and cookie flags; TLS; the health check.

use crate::support::*;

const ADMIN: &str = "ada@concat.test";

async fn bad_requests_get_clear_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;

    // Oversized body: 413 with a page.
    let token = app.csrf_with(&app.client).await;
    let huge = "x".repeat(200 * 1024);
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", huge.as_str()),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(res.text().await.unwrap().contains("Request too large"));

    // Malformed form (a field twice): 400 page, not 500.
    let res = app
        .client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf_token={token}&email=a%40b.c&email=d%40e.f&password=x"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Bad request") && html.contains("request id"),
        "{html}"
    );

    // Unknown route: 404 page with a request id.
    let res = app.get("/no/such/page").await;
    assert_eq!(res.status(), 404);
    let html = res.text().await.unwrap();
    assert!(html.contains("Page not found"));
    assert!(html.contains("request id <code>"), "{html}");

    // Malformed query string on a real page: 400, not 500.
    app.login_ok(ADMIN).await;
    let res = app.get("/admin/audit?older=abc").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("Bad request"));
    let res = app.get("/admin/requests?page=abc").await;
    assert_eq!(res.status(), 400);
    let res = app.get("/admin/audit?from=yesterday").await;
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Use a date like 2026-12-31."));

    // A token from a link that cannot be ours: a clear page.
    assert_eq!(app.get("/reset-password/%00%ff").await.status(), 404);
}

async fn security_headers_and_cookie_flags(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.get("/login").await;
    assert_eq!(res.status(), 200);
    let h = res.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("style-src 'self'")
            && !csp.contains("unsafe-inline")
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h.get("strict-transport-security").is_none(),
        "no HSTS over plain HTTP"
    );
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("concat_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "{cookie}");
    let html = res.text().await.unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline script or style"
    );

    // The error pages carry the headers too.
    let res = app.get("/nowhere").await;
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");

    // Static files are served locally.
    let css = app.get("/static/portal.css").await;
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert_eq!(app.get("/static/missing.css").await.status(), 404);
}

async fn behind_an_https_proxy_cookies_are_secure(backend: Backend) {
    let app = spawn_app_with(backend, &[("PORTAL_BASE_URL", "https://portal.example")]).await;
    let res = app.get("/login").await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-concat_session="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"),
        "{cookie}"
    );
    assert!(res.headers().get("strict-transport-security").is_some());
}

async fn built_in_tls_serves_https_with_hsts(backend: Backend) {
    let db = TestDb::new(backend);
    let (c, k) = tls_files(&db);
    let app = spawn_app_on(
        db.clone(),
        &[
            ("PORTAL_TLS_CERT", &c),
            ("PORTAL_TLS_KEY", &k),
            ("PORTAL_BASE_URL", "https://localhost"),
        ],
        None,
    )
    .await;
    let tls_client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = tls_client
        .get(format!("https://localhost:{}/login", app.port))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Issue 12.12: ALPN offers HTTP/2 over the built-in TLS.
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
    assert!(res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("__Host-concat_session="));
    // Plain HTTP on the TLS port does not get a page.
    assert!(app
        .client
        .get(format!("http://127.0.0.1:{}/login", app.port))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true));
}

fn tls_files(db: &TestDb) -> (String, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_path = db.dir.path().join("cert.pem");
    let key_path = db.dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    (
        cert_path.display().to_string(),
        key_path.display().to_string(),
    )
}

/// Issue 12.12: with `PORTAL_HTTP_REDIRECT_ADDR`, plain HTTP gets a 308 to the same path and
/// query on the https:// base URL, for every method; the health check answers there itself.
async fn plain_http_is_redirected_to_https(backend: Backend) {
    let db = TestDb::new(backend);
    let (c, k) = tls_files(&db);
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let http_port = free.local_addr().unwrap().port();
    drop(free);
    let redirect_addr = format!("127.0.0.1:{http_port}");
    let app = spawn_app_on(
        db.clone(),
        &[
            ("PORTAL_TLS_CERT", &c),
            ("PORTAL_TLS_KEY", &k),
            ("PORTAL_BASE_URL", "https://portal.example"),
            ("PORTAL_HTTP_REDIRECT_ADDR", &redirect_addr),
        ],
        None,
    )
    .await;
    let plain = format!("http://127.0.0.1:{http_port}");
    let res = app
        .client
        .get(format!("{plain}/docs/api?x=1&y=%20"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(
        res.headers()["location"],
        "https://portal.example/docs/api?x=1&y=%20"
    );
    assert!(
        res.headers().get("set-cookie").is_none(),
        "no session over plain HTTP"
    );
    let post = app
        .client
        .post(format!("{plain}/login"))
        .form(&[("email", "a@b.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 308, "a 308 keeps the method and body");
    assert_eq!(post.headers()["location"], "https://portal.example/login");
    // API clients are told to use HTTPS, not redirected (a client that follows redirects
    // would keep sending its secret in the clear).
    let api = app
        .client
        .get(format!("{plain}/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 403);
    assert!(api.headers().get("location").is_none());
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"], "HTTPS required");
    assert_eq!(body["url"], "https://portal.example/api/v1/me");
    let health = app
        .client
        .get(format!("{plain}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // The TLS port itself is unchanged.
    let tls_client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = tls_client
        .get(format!("https://localhost:{}/login", app.port))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn health_check_reports_the_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");
}

both_backends!(
    bad_requests_get_clear_pages,
    security_headers_and_cookie_flags,
    behind_an_https_proxy_cookies_are_secure,
    built_in_tls_serves_https_with_hsts,
    plain_http_is_redirected_to_https,
    health_check_reports_the_database,
);
