//! Each role's main pages, walked in real Chromium at 1280 px and at 390 px (a phone): every
//! page must be the page asked for, no wider than the viewport, and free of axe-core
//! violations (`audit.rs`). One test per role; each collects every problem of every page at
//! both widths and fails once, listing them all. With `PORTAL_TEST_SCREENSHOTS=<dir>` each
//! page is also saved there as a full-page PNG per width, for a person to look at (only the top
//! `PORTAL_TEST_SCREENSHOTS_HEIGHT` pixels when that is set: `scripts/screenshots.sh`).

use concat_portal::clock::Clock;
use reqwest::Method;

use super::audit::{axe, Axe};
use super::{browser, Browser};
use crate::support::*;

/// A desktop and a phone.
const WIDTHS: [u32; 2] = [1280, 390];

/// A page to visit: its path and a fragment of its `<h1>` (so an error page or a redirect to
/// sign-in cannot pass for it); for a form sent back, the button pressed with every field
/// left as it is and what must then show.
struct Page {
    path: String,
    h1: &'static str,
    submit: Option<(&'static str, &'static str)>,
}

fn page(path: impl Into<String>, h1: &'static str) -> Page {
    Page {
        path: path.into(),
        h1,
        submit: None,
    }
}

/// The form at `path` sent with its `button` pressed, checked once `shows` (CSS) appears.
fn sent(path: &str, h1: &'static str, button: &'static str, shows: &'static str) -> Page {
    Page {
        submit: Some((button, shows)),
        ..page(path, h1)
    }
}

/// Visits every page at every width; returns what is wrong, one paragraph per page and check.
async fn walk(browser: &Browser, axe: &Axe, app: &TestApp, pages: &[Page]) -> Vec<String> {
    let mut problems = Vec::new();
    for width in WIDTHS {
        browser.set_viewport(width).await;
        for p in pages {
            browser.client.goto(&app.url(&p.path)).await.unwrap();
            let mut name = p.path.clone();
            if let Some((button, shows)) = p.submit {
                browser.click(button).await;
                browser.wait_text(shows, "").await;
                name.push_str(" (sent back)");
            }
            let at = browser.client.current_url().await.unwrap();
            let here = match at.query() {
                Some(q) => format!("{}?{q}", at.path()),
                None => at.path().to_string(),
            };
            assert_eq!(here, p.path, "{name} was redirected");
            browser.wait_text("h1", p.h1).await;
            browser.assert_viewport(width).await;
            if let Some(dir) = std::env::var_os("PORTAL_TEST_SCREENSHOTS") {
                let file: String = name
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                let file = std::path::Path::new(&dir).join(format!("{file}-{width}.png"));
                let height = std::env::var("PORTAL_TEST_SCREENSHOTS_HEIGHT")
                    .ok()
                    .and_then(|h| h.parse().ok());
                std::fs::write(&file, browser.full_page_png(height).await).unwrap();
            }
            problems.extend(checked_here(browser, axe, &name, width).await);
        }
    }
    problems
}

fn assert_no_problems(role: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s) on the {role}'s pages:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// Signs in through the form, as the person would, waits until the portal has let them in,
/// and checks they landed where their work is (`lands`: the path after any redirect).
async fn sign_in(browser: &Browser, app: &TestApp, email: &str, lands: &str) {
    browser.client.goto(&app.url("/login")).await.unwrap();
    browser.fill("#f-email", email).await;
    browser.fill("#f-password", PASSWORD).await;
    browser.click("form.card button[type=submit]").await;
    browser.pass_second_factor(app, email).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while [
        "/login",
        "/login/verify",
        "/account/security/recovery-codes",
    ]
    .contains(&browser.client.current_url().await.unwrap().path())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{email} could not sign in"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.wait_text("h1", "").await;
    let landed = browser.client.current_url().await.unwrap();
    assert_eq!(landed.path(), lands, "{email} landed elsewhere");
}

/// The API docs as a reader sees them (rendered text, not the HTML source): no raw Markdown
/// backticks, an example in each language, and the reader's own API ID (`api_id`) or the
/// placeholder when signed out — never a secret.
async fn check_docs(browser: &Browser, app: &TestApp, api_id: Option<&str>) {
    browser.client.goto(&app.url("/docs/api")).await.unwrap();
    browser.wait_text("h1", "").await;
    let js = |expr: &str| format!("return {expr}");
    let shown = browser
        .client
        .execute(&js("document.body.innerText"), vec![])
        .await
        .unwrap();
    assert!(
        !shown.as_str().unwrap().contains('`'),
        "raw backticks in the docs as shown"
    );
    // The examples in every language are in the page (the tabs show one language at a time).
    let text = browser
        .client
        .execute(&js("document.body.textContent"), vec![])
        .await
        .unwrap();
    let text = text.as_str().unwrap();
    for example in ["curl ", "import requests", "await fetch("] {
        assert!(text.contains(example), "no {example:?} example");
    }
    assert!(!text.contains("cc_sk_"), "a secret in the docs");
    match api_id {
        Some(id) => assert!(text.contains(id), "the reader's API ID"),
        None => assert!(text.contains("CONCAT_API_ID"), "the placeholder"),
    }
}

/// What the pages show: Dana of Ticketly with two secrets (the first rolled with a day's
/// overlap) and a colleague invited; Acme Events (Olga) that authorized her integration,
/// revoked it (a deletion duty) and authorized it again, with two events (one changed through
/// the API) and an admin invited; API requests counted; a second developer's request waiting
/// for review; the jobs run once.
struct World {
    fx: ApiFixture,
    /// Acme's authorization in force (the second).
    active_auth: String,
    /// One of Dana's active secrets.
    secret_id: String,
    pending_request: String,
    approved_request: String,
}

/// The id of the organization's authorization in force, and one active secret of the
/// integration.
async fn active_ids(app: &TestApp, integration_id: &str) -> (String, String) {
    use concat_portal::db;
    use concat_portal::db::schema::{api_secrets as s, authorizations as a};
    use diesel::prelude::*;
    let integration_id = integration_id.to_string();
    db::run(&app.pool, move |c| {
        let auth = a::table
            .filter(a::integration_id.eq(&integration_id))
            .filter(a::revoked_at.is_null())
            .select(a::id)
            .first::<String>(c)?;
        let secret = s::table
            .filter(s::integration_id.eq(&integration_id))
            .filter(s::revoked_at.is_null())
            .select(s::id)
            .first::<String>(c)?;
        Ok((auth, secret))
    })
    .await
    .unwrap()
}

async fn world(app: &TestApp) -> World {
    let fx = app.api_fixture(&["events_read", "events_write"]).await;
    let dana = "dana@ticketly.example";
    let listing = format!("/org/{}/integrations", fx.org);
    let res = app
        .post_form_with(&fx.olga, &format!("{listing}/{}/revoke", fx.auth_id), &[])
        .await;
    assert_eq!(res.status(), 303, "revoked");
    app.one_email_to(dana).await;
    app.authorize(
        &fx.olga,
        &fx.org,
        &fx.dev.api_id,
        &["events_read", "events_write"],
        dana,
    )
    .await;

    let integration = format!("/developer/integrations/{}", fx.dev.integration_id);
    let res = app
        .post_form_with(
            &fx.dev.client,
            &format!("{integration}/secrets/roll"),
            &[("old_expires", "24h")],
        )
        .await;
    assert!(res.status().is_success() || res.status() == 303, "rolled");
    let res = app
        .post_form_with(
            &fx.dev.client,
            &format!("/developer/accounts/{}/team/invite", fx.dev.account_id),
            &[
                ("name", "Sam Colleague"),
                ("email", "sam@ticketly.example"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "colleague invited");
    let res = app
        .post_form_with(
            &fx.olga,
            &format!("/org/{}/admins/invite", fx.org),
            &[("name", "Oscar Org"), ("email", "oscar@acme.example")],
        )
        .await;
    assert_eq!(res.status(), 303, "admin invited");
    for (name, venue, status) in [
        ("Summer Fair", "Tempelhof", "published"),
        (
            "International Conference on Very Long Event Names and Their Venues",
            "Messe Berlin, Hall 7, Messedamm 22, 14055 Berlin",
            "draft",
        ),
    ] {
        let res = app
            .post_form_with(
                &fx.olga,
                &format!("/org/{}/events/new", fx.org),
                &[
                    ("name", name),
                    ("time_zone", "Europe/Berlin"),
                    ("starts", "2027-06-01T18:30"),
                    ("ends", "2027-06-02T23:00"),
                    ("venue", venue),
                    ("status", status),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "event {name} created");
    }

    let api = |path: &str| {
        bearer(
            &app.client,
            Method::GET,
            app.url(path),
            &fx.dev.api_id,
            &fx.dev.secret,
        )
    };
    assert_eq!(status_of(api("/api/v1/me")).await, 200);
    assert_eq!(status_of(api("/api/v1/organizations")).await, 200);
    let events = format!("/api/v1/organizations/{}/events", fx.org);
    assert_eq!(status_of(api(&events)).await, 200);
    assert_eq!(status_of(api("/api/v1/organizations/org_nope")).await, 404);
    let listing = app
        .get_with(&fx.olga, &format!("/org/{}/events", fx.org))
        .await
        .text()
        .await
        .unwrap();
    // The published one: drafts do not reach the integration.
    let fair = &listing[listing.find("Summer Fair").expect("listed")..];
    let event = &fair[fair.find("evt_").expect("its event ID")..][..20];
    let patch = bearer(
        &app.client,
        Method::PATCH,
        app.url("/api/v1/event"),
        &fx.dev.api_id,
        &fx.dev.secret,
    )
    .header("EventId", event)
    .json(&serde_json::json!({ "venue": "Tempelhof, Hangar 4" }));
    assert_eq!(
        status_of(patch).await,
        200,
        "an event changed through the API"
    );
    app.flush_usage().await;

    let (priya, _) = client();
    let res = app
        .request_access_with(
            &priya,
            "priya@globex.example",
            &[("company", "Globex"), ("app_name", "Globex Check-in")],
        )
        .await;
    assert_eq!(res.status(), 200, "request access");
    app.run_jobs(app.clock.now()).await;
    // Every email so far (revocation, roll, invitations, the request's notices) is read here.
    app.deliver_emails().await;
    let (active_auth, secret_id) = active_ids(app, &fx.dev.integration_id).await;
    World {
        active_auth,
        secret_id,
        pending_request: app.request_id_for("priya@globex.example").await,
        approved_request: app.request_id_for(dana).await,
        fx,
    }
}

/// Starts Chromium and finds axe-core; `None` (a recorded skip) when either is missing.
async fn audited_browser() -> Option<(Browser, Axe)> {
    let axe = axe()?;
    let browser = browser().await?;
    Some((browser, axe))
}

async fn public_pages_fit_and_pass_axe(backend: Backend) {
    let Some((browser, axe)) = audited_browser().await else {
        return;
    };
    let app = spawn_app(backend).await;
    let pages = [
        page("/", "Build on ConCat"),
        page("/login", "Sign in"),
        page("/request-access", "Request API access"),
        page("/forgot-password", "Reset your password"),
        page("/docs/api", "API"),
        // Forms sent back: the error summary, and a failed sign-in.
        sent(
            "/request-access",
            "Request API access",
            "form.card button[type=submit]",
            "#error-summary",
        ),
        sent(
            "/login",
            "Sign in",
            "form.card button[type=submit]",
            "[role=alert]",
        ),
    ];
    let problems = walk(&browser, &axe, &app, &pages).await;
    assert_no_problems("public", &problems);
    check_docs(&browser, &app, None).await;
    browser.close().await;
}

both_backends!(public_pages_fit_and_pass_axe);

async fn developer_pages_fit_and_pass_axe(backend: Backend) {
    let Some((browser, axe)) = audited_browser().await else {
        return;
    };
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    sign_in(&browser, &app, "dana@ticketly.example", "/developer").await;
    let integration = format!("/developer/integrations/{}", w.fx.dev.integration_id);
    let pages = [
        page("/developer", "integrations"),
        page(integration.clone(), "Ticketly App"),
        page(format!("{integration}/usage"), "API usage"),
        page(
            format!("{integration}/secrets/{}/revoke", w.secret_id),
            "Revoke",
        ),
        page(
            format!("/developer/accounts/{}/team", w.fx.dev.account_id),
            "Ticketly team",
        ),
        page("/account", "Account settings"),
        page("/docs/api", "API"),
    ];
    let problems = walk(&browser, &axe, &app, &pages).await;
    assert_no_problems("developer", &problems);
    check_docs(&browser, &app, Some(&w.fx.dev.api_id)).await;
    browser.close().await;
}

both_backends!(developer_pages_fit_and_pass_axe);

async fn org_admin_pages_fit_and_pass_axe(backend: Backend) {
    let Some((browser, axe)) = audited_browser().await else {
        return;
    };
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let org = format!("/org/{}", w.fx.org);
    sign_in(&browser, &app, "olga@acme.example", &org).await;
    let pages = [
        page(org.clone(), "Acme Events"),
        page(format!("{org}/events"), "Events"),
        page(format!("{org}/events/new"), "event"),
        page(format!("{org}/integrations"), "Integrations"),
        // The authorization preview of an integration looked up by API ID.
        page(
            format!("{org}/integrations?api_id={}", w.fx.dev.api_id),
            "Integrations",
        ),
        page(
            format!("{org}/integrations/{}/revoke", w.active_auth),
            "Revoke",
        ),
        page(format!("{org}/admins"), "Admins of Acme Events"),
    ];
    let problems = walk(&browser, &axe, &app, &pages).await;
    assert_no_problems("organization admin", &problems);
    browser.close().await;
}

both_backends!(org_admin_pages_fit_and_pass_axe);

async fn concat_admin_pages_fit_and_pass_axe(backend: Backend) {
    let Some((browser, axe)) = audited_browser().await else {
        return;
    };
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    sign_in(&browser, &app, ADMIN_EMAIL, "/admin").await;
    let pages = [
        page("/admin", "Admin dashboard"),
        page("/admin/requests", "Access requests"),
        page(
            format!("/admin/requests/{}", w.pending_request),
            "Globex Check-in",
        ),
        page(
            format!("/admin/requests/{}", w.approved_request),
            "Ticketly App",
        ),
        page("/admin/organizations", "Organizations"),
        page("/admin/users", "Users"),
        page("/admin/integrations", "Integrations"),
        page("/admin/compliance", "Compliance"),
        page("/admin/api", "API usage"),
        page("/admin/jobs", "Jobs"),
        page("/admin/audit", "Audit log"),
        page("/admin/outbox", "Outbox"),
    ];
    let problems = walk(&browser, &axe, &app, &pages).await;
    assert_no_problems("ConCat admin", &problems);
    browser.close().await;
}

both_backends!(concat_admin_pages_fit_and_pass_axe);

/// The pages of second factors (issue 15): Account → Sign-in security and the app's
/// enrolment, the second step of signing in, and "Confirm it's you" before a protected action —
/// each checked where the person meets it, at both widths.
async fn second_factor_pages_fit_and_pass_axe(backend: Backend) {
    let Some((browser, axe)) = audited_browser().await else {
        return;
    };
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN_EMAIL, "Ada").await;
    // The first sign-in enrols the authenticator app in the browser.
    sign_in(&browser, &app, ADMIN_EMAIL, "/admin").await;
    let mut problems = walk(
        &browser,
        &axe,
        &app,
        &[
            page("/account/security", "Sign-in security"),
            page("/account/security/totp", "Set up an authenticator app"),
        ],
    )
    .await;
    // Twelve minutes on, making new recovery codes asks to confirm it's you.
    app.clock.advance(chrono::Duration::minutes(12));
    for width in WIDTHS {
        browser.set_viewport(width).await;
        browser
            .client
            .goto(&app.url("/account/security"))
            .await
            .unwrap();
        browser
            .click("form[action='/account/security/recovery-codes'] button")
            .await;
        browser.wait_text("h1", "Confirm it’s you").await;
        browser.assert_viewport(width).await;
        problems.extend(checked_here(&browser, &axe, "confirm it's you", width).await);
    }
    // Signed out, the password leads to the second step.
    browser.client.goto(&app.url("/admin")).await.unwrap();
    browser.click("nav button.link").await;
    browser.wait_text("h1", "Sign in").await;
    browser.fill("#f-email", ADMIN_EMAIL).await;
    browser.fill("#f-password", PASSWORD).await;
    browser.click("form.card button[type=submit]").await;
    browser.wait_text("h1", "Confirm it’s you").await;
    problems.extend(
        walk(
            &browser,
            &axe,
            &app,
            &[page("/login/verify", "Confirm it’s you")],
        )
        .await,
    );
    assert_no_problems("second factor", &problems);
    browser.close().await;
}

/// The overflow and axe-core checks on the page the browser is on.
async fn checked_here(browser: &Browser, axe: &Axe, name: &str, width: u32) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(overflow) = browser.horizontal_overflow(width).await {
        problems.push(format!("{name} at {width} px: {overflow}"));
    }
    let violations = browser.axe_violations(axe).await;
    if !violations.is_empty() {
        problems.push(format!(
            "{name} at {width} px: {} axe-core violation(s):\n{}",
            violations.len(),
            violations.join("\n")
        ));
    }
    problems
}

both_backends!(second_factor_pages_fit_and_pass_axe);
