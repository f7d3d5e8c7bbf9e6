//! Screenshots of the main pages for docs/screenshots/ (the README shows three). Not part of
//! the suite: `scripts/screenshots.sh` runs it (`--ignored`), in real Chromium, on SQLite, with
//! the story data the tests use. Each page must load as the role that sees it (its heading is
//! checked) before it is captured.

use std::path::PathBuf;

use crate::browser::browser;
use crate::support::*;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 860;

async fn sign_in(b: &crate::browser::Browser, app: &TestApp, email: &str) {
    b.client.delete_all_cookies().await.unwrap();
    b.client.goto(&app.url("/login")).await.unwrap();
    b.fill("#f-email", email).await;
    b.fill("#f-password", PASSWORD).await;
    b.click("main form button[type=submit]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "makes docs/screenshots; run by scripts/screenshots.sh"]
async fn screenshots_of_the_main_pages() {
    let dir = std::env::var("PORTAL_SCREENSHOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    let b = browser().await.expect("Chromium and chromedriver");
    b.client.set_window_size(WIDTH, HEIGHT).await.unwrap();
    let app = spawn_app(Backend::Sqlite).await;
    let f = app.api_fixture(&["events_read", "events_write"]).await;
    app.seed_events(&f.org, 4).await;
    // Some traffic, so the usage page has bars.
    for _ in 0..12 {
        app.credentials_valid(&f.dev.api_id, &f.dev.secret).await;
    }
    app.flush_usage().await;

    let shots: [(&str, &str, String, &str); 6] = [
        ("", "home", "/".into(), "h1"),
        (
            "dana@ticketly.example",
            "developer-integration",
            format!("/developer/integrations/{}", f.dev.integration_id),
            "h1",
        ),
        (
            "dana@ticketly.example",
            "api-docs",
            "/docs/api".into(),
            "h1",
        ),
        (
            "olga@acme.example",
            "org-overview",
            format!("/org/{}", f.org),
            "h1",
        ),
        (
            "olga@acme.example",
            "org-integrations",
            format!("/org/{}/integrations", f.org),
            "h1",
        ),
        (ADMIN_EMAIL, "admin-dashboard", "/admin".into(), "h1"),
    ];
    let mut who = "";
    for (email, name, path, heading) in shots {
        if email != who {
            if email.is_empty() {
                b.client.delete_all_cookies().await.unwrap();
            } else {
                sign_in(&b, &app, email).await;
            }
            who = email;
        }
        b.client.goto(&app.url(&path)).await.unwrap();
        b.wait_text(heading, "").await;
        let url = b.client.current_url().await.unwrap();
        assert_eq!(url.path(), path.as_str(), "{name}: landed elsewhere");
        let png = b.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}: a PNG");
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
    b.close().await;
    app.deliver_emails().await;
}
