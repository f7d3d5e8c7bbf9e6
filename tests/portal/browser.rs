//! User journeys in real Chromium, driven over WebDriver by Debian's chromedriver. Without
//! chromedriver the tests are skipped locally; with `CI=true` that is a failure.
//!
//! `audit`: axe-core and the overflow check on the current page, and the viewport's width;
//! `walks`: every role's main pages at 1280 and 390 px, audited.

mod audit;
mod passkeys;
mod walks;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use concat_portal::db;

use crate::support::*;

/// A ChromeDriver extension command: `POST session/{id}/<path>` with a JSON body, or a `GET`
/// without one (DevTools calls in `audit`, the WebAuthn virtual authenticator in `passkeys`).
#[derive(Debug)]
pub struct Extension {
    pub path: String,
    pub body: Option<serde_json::Value>,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Extension {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.expect("a WebDriver session"),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        match &self.body {
            Some(b) => (http::Method::POST, Some(b.to_string())),
            None => (http::Method::GET, None),
        }
    }
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn find_binary(env: &str, candidates: &[&str]) -> Option<String> {
    if let Ok(p) = std::env::var(env) {
        return Some(p);
    }
    candidates
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
}

/// Starts chromedriver on a free port and opens a headless Chromium session.
pub async fn browser() -> Option<Browser> {
    browser_in_zone(None).await
}

/// The same, with the browser's time zone set (`TZ`, which Chromium inherits from chromedriver).
pub async fn browser_in_zone(zone: Option<&str>) -> Option<Browser> {
    let driver_bin = find_binary("CHROMEDRIVER", &["/usr/bin/chromedriver"]);
    let chrome_bin = find_binary("CHROME_BIN", &["/usr/bin/chromium"]);
    let (driver_bin, chrome_bin) = match (driver_bin, chrome_bin) {
        (Some(driver), Some(chrome)) => (driver, chrome),
        (driver, _) => {
            let missing = if driver.is_none() {
                "chromedriver"
            } else {
                "chromium"
            };
            skip(Missing::Browser, &format!("{missing} not found"));
            return None;
        }
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(driver_bin);
    if let Some(zone) = zone {
        command.env("TZ", zone);
    }
    let driver = command
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let profile = tempfile::tempdir().unwrap();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chrome_bin,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--no-first-run", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }
    });
    let caps: fantoccini::wd::Capabilities = caps.as_object().unwrap().clone();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("could not start a Chromium session: {e}"),
        }
    };
    Some(Browser {
        client,
        driver,
        _profile: profile,
    })
}

impl Browser {
    pub async fn fill(&self, css: &str, value: &str) {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        el.clear().await.unwrap();
        el.send_keys(value).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Waits (bounded: 10 s) until the element exists and its text contains `expected`; page
    /// loads after a click make earlier elements stale, so this re-finds on every try.
    pub async fn wait_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(t) = el.text().await {
                    if t.contains(expected) {
                        return;
                    }
                    last = t;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never showed {expected:?} (last: {last:?})");
    }

    /// After the password form was sent: waits until the portal answered, then does the second
    /// step as the person would in this browser — types a fresh code from their authenticator
    /// app, or (at the first sign-in of someone the policy covers) sets the app up: scans the
    /// key off the page (reads it), types a code, saves the recovery codes and continues.
    pub async fn pass_second_factor(&self, app: &TestApp, email: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut path = self.client.current_url().await.unwrap().path().to_string();
        while path == "/login" {
            assert!(Instant::now() < deadline, "{email} could not sign in");
            tokio::time::sleep(Duration::from_millis(100)).await;
            path = self.client.current_url().await.unwrap().path().to_string();
        }
        match path.as_str() {
            "/login/verify" => {
                self.wait_text("h1", "Confirm it’s you").await;
                self.fill("#f-code", &app.fresh_code(email)).await;
                self.click("form.card:not([data-passkey]) button[type=submit]")
                    .await;
            }
            "/account/security" => {
                self.wait_text("h1", "Sign-in security").await;
                self.click("a[href='/account/security/totp']").await;
                self.wait_text("h1", "Set up an authenticator app").await;
                let key = self
                    .client
                    .find(Locator::Css("code.secret"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                let secret = totp_rs::Secret::Encoded(key)
                    .to_bytes()
                    .expect("a base32 key");
                app.authenticators.remember(email, secret, i64::MIN);
                self.fill("#f-code", &app.fresh_code(email)).await;
                self.click("form.card button[type=submit]").await;
                self.wait_text("h1", "Your recovery codes").await;
                app.set_aside_security_notice(email).await;
                self.click("main a.button").await;
            }
            _ => {}
        }
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

async fn admin_signs_in_and_sees_the_dashboard(backend: Backend) {
    let Some(browser) = browser().await else {
        return;
    };
    let app = spawn_app(backend).await;
    app.create_admin("ada@concat.test", "Ada").await;

    browser.client.goto(&app.url("/admin")).await.unwrap();
    browser.wait_text("h1", "Sign in").await;
    browser.fill("#f-email", "ada@concat.test").await;
    browser
        .fill("#f-password", "not my passphrase at all")
        .await;
    browser.click("form.card button[type=submit]").await;
    browser
        .wait_text("[role=alert]", "Invalid email or password.")
        .await;

    browser.fill("#f-password", PASSWORD).await;
    browser.click("form.card button[type=submit]").await;
    browser.pass_second_factor(&app, "ada@concat.test").await;
    browser.wait_text("h1", "Admin dashboard").await;
    assert!(browser
        .client
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/admin"));
    let css_applied = browser
        .client
        .execute(
            "return getComputedStyle(document.querySelector('.site-header')).display",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(css_applied, "flex", "the stylesheet loads under the CSP");

    browser.click("nav button.link").await;
    browser.wait_text("h1", "Sign in").await;
    browser
        .wait_text(".flash-success", "You have signed out.")
        .await;
    browser.close().await;
}

both_backends!(admin_signs_in_and_sees_the_dashboard);

async fn developer_requests_access_and_an_admin_approves(backend: Backend) {
    let Some(browser) = browser().await else {
        return;
    };
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN_EMAIL, "Ada").await;

    // The developer fills the public form.
    browser.client.goto(&app.url("/")).await.unwrap();
    browser.click("a.button[href='/request-access']").await;
    browser.wait_text("h1", "Request API access").await;
    for (field, value) in access_form("dana@ticketly.example", &[]) {
        browser.fill(&format!("#f-{field}"), &value).await;
    }
    browser.wait_text("#c-use_case", "/ 2000").await;
    browser.click("form.card button[type=submit]").await;
    browser.wait_text("h1", "Check your inbox").await;
    // Issue 12.8: the request reaches the admins only once confirmed from its email.
    let received = app.one_email_to("dana@ticketly.example").await;
    browser
        .client
        .goto(
            &find_link(&received.text, "/access-requests/confirm/")
                .replace("http://portal.test", &app.address),
        )
        .await
        .unwrap();
    browser.wait_text("h1", "Confirm your access request").await;
    browser.click("form.card button[type=submit]").await;
    browser.wait_text("h1", "Request confirmed").await;
    let notice = app.one_email_to(ADMIN_EMAIL).await;
    assert!(notice.text.contains("Ticketly Sync"), "{}", notice.text);

    // The admin reviews and approves.
    browser.client.goto(&app.url("/login")).await.unwrap();
    browser.fill("#f-email", ADMIN_EMAIL).await;
    browser.fill("#f-password", PASSWORD).await;
    browser.click("form.card button[type=submit]").await;
    browser.pass_second_factor(&app, ADMIN_EMAIL).await;
    browser.wait_text("h1", "Admin dashboard").await;
    browser.click("a[href='/admin/requests']").await;
    browser.wait_text("h1", "Access requests").await;
    browser.click("td a[href^='/admin/requests/']").await;
    browser.wait_text("h1", "Ticketly Sync").await;
    browser.click("form[action$='/approve'] button").await;
    browser.wait_text(".flash-success", "Approved.").await;
    browser.click("nav button.link").await;
    browser.wait_text("h1", "Sign in").await;

    // The developer follows the approval link and sees the secret once.
    let approval = app.one_email_to("dana@ticketly.example").await;
    browser
        .client
        .goto(&find_link(&approval.text, "/welcome/").replace("http://portal.test", &app.address))
        .await
        .unwrap();
    browser.wait_text("h1", "Welcome to the ConCat API").await;
    browser.fill("#f-password", PASSWORD).await;
    browser.fill("#f-confirm", PASSWORD).await;
    browser.click("form.card button[type=submit]").await;
    browser.wait_text("h1", "Your API secret").await;
    let secret = browser
        .client
        .find(fantoccini::Locator::Css("#api-secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let api_id = browser
        .client
        .find(fantoccini::Locator::Css("#api-id"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(app.credentials_valid(&api_id, &secret).await);
    browser.click("a[href^='/developer/integrations/']").await;
    browser.wait_text("h1", "Ticketly Sync").await;
    let html = browser.client.source().await.unwrap();
    assert!(!html.contains(&secret) && html.contains(&secret[..10]));
    browser.close().await;
}

both_backends!(developer_requests_access_and_an_admin_approves);

async fn an_org_admin_authorizes_an_integration_then_revokes_it(backend: Backend) {
    let Some(browser) = browser().await else {
        return;
    };
    let app = spawn_app(backend).await;
    let dev = app
        .approved_developer("dana@ticketly.example", "Ticketly")
        .await;
    let admin = app.admin().await;
    app.post_form_with(
        &admin,
        "/admin/organizations",
        &[
            ("name", "Acme Events"),
            ("admin_name", "Olga"),
            ("admin_email", "olga@acme.example"),
        ],
    )
    .await;
    let invite = app.one_email_to("olga@acme.example").await;

    // Olga sets her password through the invitation and lands, signed in, on her organization.
    browser
        .client
        .goto(
            &find_link(&invite.text, "/set-password/").replace("http://portal.test", &app.address),
        )
        .await
        .unwrap();
    browser.wait_text("h1", "Set your password").await;
    browser.fill("#f-password", PASSWORD).await;
    browser.fill("#f-confirm", PASSWORD).await;
    browser.click("form.card button[type=submit]").await;
    browser.wait_text("h1", "Acme Events").await;
    browser.click(".org-nav a[href$='/integrations']").await;
    browser.wait_text("h1", "Integrations").await;

    // Authorize by API ID: the preview, then the least-privilege default.
    browser.fill("#f-api_id", &dev.api_id).await;
    browser.click("form[method=get] button").await;
    browser.wait_text("h2", "Authorize Ticketly App?").await;
    browser.click("form[action$='/authorize'] button").await;
    browser.wait_text(".flash-success", "is authorized").await;
    browser.wait_text("tbody", "events:read").await;
    let email = app.one_email_to("dana@ticketly.example").await;
    assert!(email.subject.contains("Acme Events authorized"));

    // Revoke, through its confirmation.
    browser.click("a[href$='/revoke']").await;
    browser.wait_text("h1", "Revoke Ticketly App?").await;
    browser.click("form[action$='/revoke'] button").await;
    browser
        .wait_text(".flash-success", "can no longer reach")
        .await;
    browser.wait_text("tbody", "pending").await;
    assert!(app
        .one_email_to("dana@ticketly.example")
        .await
        .subject
        .contains("revoked"));

    // Dana signs in, sees the deletion duty on her dashboard, and confirms it.
    browser.click("form[action='/logout'] button").await;
    browser.wait_text("h1", "Sign in").await;
    browser.fill("#f-email", "dana@ticketly.example").await;
    browser.fill("#f-password", PASSWORD).await;
    browser.click("form.card button[type=submit]").await;
    browser.wait_text("h1", "Your integrations").await;
    browser
        .wait_text(
            ".integration .flash-error",
            "Delete the data of Acme Events",
        )
        .await;
    browser.click(".integration .flash-error a").await;
    browser.wait_text(".duty", "Acme Events").await;
    browser
        .fill(".duty input[name=note]", "Purged from our warehouse")
        .await;
    browser.click(".duty button[type=submit]").await;
    browser
        .wait_text(".flash-success", "The deletion is recorded")
        .await;
    let confirmed = db::run(&app.pool, |c| {
        use concat_portal::db::schema::authorizations as a;
        use diesel::prelude::*;
        Ok(a::table
            .select((a::deletion_note, a::deletion_confirmed_via))
            .first::<(Option<String>, Option<String>)>(c)?)
    })
    .await
    .unwrap();
    assert_eq!(
        confirmed,
        (
            Some("Purged from our warehouse".to_string()),
            Some("developer".to_string())
        )
    );
    browser.close().await;
}

both_backends!(an_org_admin_authorizes_an_integration_then_revokes_it);

/// A new event's time zone starts at the browser's own (here New York, set for the browser
/// alone); the list offers every zone; an edited event keeps its stored zone.
async fn a_new_event_starts_in_the_browsers_time_zone(backend: Backend) {
    let Some(browser) = browser_in_zone(Some("America/New_York")).await else {
        return;
    };
    let app = spawn_app(backend).await;
    let (org, _) = app.org_with_admin("Acme Events", "olga@acme.test").await;
    browser.client.goto(&app.url("/login")).await.unwrap();
    browser.fill("#f-email", "olga@acme.test").await;
    browser.fill("#f-password", PASSWORD).await;
    browser.click("form.card button[type=submit]").await;
    browser.wait_text("h1", "Acme Events").await;
    browser
        .client
        .goto(&app.url(&format!("/org/{org}/events/new")))
        .await
        .unwrap();
    browser.wait_text("h1", "event").await;
    let zone = browser
        .client
        .execute(
            "return document.querySelector('#f-time_zone').value",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(zone, "America/New_York", "the browser's zone, filled in");
    browser.fill("#f-name", "Opening Night").await;
    browser
        .client
        .execute(
            "document.querySelector('#f-starts').value = '2027-05-01T19:00';
             document.querySelector('#f-ends').value = '2027-05-01T23:00';",
            vec![],
        )
        .await
        .unwrap();
    browser.click("main form button[type=submit]").await;
    browser.wait_text("h1", "Events").await;
    let listing = browser
        .client
        .execute("return document.querySelector('main').innerText", vec![])
        .await
        .unwrap();
    let listing = listing.as_str().unwrap();
    assert!(listing.contains("Opening Night"), "{listing}");
    assert!(
        listing.contains("2027-05-01 19:00 EDT"),
        "kept in New York time: {listing}"
    );
    browser.close().await;
}

both_backends!(a_new_event_starts_in_the_browsers_time_zone);
