//! Issue 15: passkeys in real Chromium, with ChromeDriver's WebAuthn virtual authenticator
//! (the WebDriver `/webauthn/authenticator` extension commands: a CTAP2 platform authenticator
//! that stores discoverable credentials and verifies its user). The portal runs on
//! `http://localhost` (a passkey is bound to a domain name; `localhost` is a secure context).
//! A developer registers a passkey, signs in with the password and the passkey, then with the
//! passkey alone, confirms a protected action with it after ten minutes, and removes it.

use fantoccini::Locator;
use serde_json::{json, Value};

use super::{browser, Browser, Extension};
use crate::support::*;

impl Browser {
    /// Adds a virtual platform authenticator (resident keys, user verification that succeeds)
    /// and returns its id.
    async fn add_virtual_authenticator(&self) -> String {
        let id = self
            .client
            .issue_cmd(Extension {
                path: "webauthn/authenticator".into(),
                body: Some(json!({
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserVerified": true,
                    "automaticPresenceSimulation": true,
                })),
            })
            .await
            .expect("a virtual authenticator");
        id.as_str().expect("its id").to_string()
    }

    /// The credentials the virtual authenticator holds.
    async fn credentials(&self, authenticator: &str) -> Vec<Value> {
        let v = self
            .client
            .issue_cmd(Extension {
                path: format!("webauthn/authenticator/{authenticator}/credentials"),
                body: None,
            })
            .await
            .expect("the credentials");
        v.as_array().cloned().unwrap_or_default()
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    async fn sign_out(&self) {
        self.click("nav button.link").await;
        self.wait_text("h1", "Sign in").await;
    }

    async fn wait_path(&self, path: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.path().await != path {
            assert!(
                std::time::Instant::now() < deadline,
                "never reached {path} (at {})",
                self.path().await
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

async fn a_passkey_is_registered_used_and_removed(backend: Backend) {
    let Some(browser) = browser().await else {
        return;
    };
    let app = spawn_app_with(backend, &[("PORTAL_BASE_URL", "http://localhost")]).await;
    let base = format!("http://localhost:{}", app.port);
    let email = "dev@ticketly.example";
    app.create_user(email, "Dana").await;
    let authenticator = browser.add_virtual_authenticator().await;

    // Register, after signing in with the password (no factor yet: a developer is not covered
    // by the default policy).
    browser.client.goto(&format!("{base}/login")).await.unwrap();
    browser.fill("#f-email", email).await;
    browser.fill("#f-password", PASSWORD).await;
    browser.click("form.card button[type=submit]").await;
    browser.wait_path("/developer").await;
    browser
        .client
        .goto(&format!("{base}/account/security"))
        .await
        .unwrap();
    browser.wait_text("h1", "Sign-in security").await;
    browser.fill("#f-name", "Work laptop").await;
    browser
        .click("form[data-passkey=create] button[type=submit]")
        .await;
    browser.wait_text("h1", "Your recovery codes").await;
    app.set_aside_security_notice(email).await;
    let creds = browser.credentials(&authenticator).await;
    assert_eq!(creds.len(), 1, "one credential: {creds:?}");
    assert_eq!(
        creds[0]["isResidentCredential"],
        json!(true),
        "discoverable, so it can sign in alone"
    );
    browser.click("main a.button").await;
    browser.wait_path("/developer").await;
    browser
        .client
        .goto(&format!("{base}/account/security"))
        .await
        .unwrap();
    browser.wait_text("table", "Work laptop").await;
    browser.sign_out().await;

    // Password, then the passkey as the second step.
    browser.fill("#f-email", email).await;
    browser.fill("#f-password", PASSWORD).await;
    browser.click("form.card button[type=submit]").await;
    browser.wait_path("/login/verify").await;
    browser.wait_text("h1", "Confirm it’s you").await;
    browser
        .click("form[data-passkey=get] button[type=submit]")
        .await;
    browser.wait_path("/developer").await;
    browser.sign_out().await;

    // The passkey alone.
    browser
        .click("form[action='/login/passkey'] button[type=submit]")
        .await;
    browser.wait_path("/developer").await;
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"mfa.passkey_added".to_string()),
        "{actions:?}"
    );
    let rows = concat_portal::db::run(&app.pool, |c| {
        Ok(concat_portal::db::models::audit::recent(c, 1000)?)
    })
    .await
    .unwrap();
    let by_passkey = rows
        .iter()
        .filter(|r| r.action == "login.succeeded" && r.details.contains("passkey"))
        .count();
    assert_eq!(
        by_passkey, 2,
        "the second step and the passkey alone, each audited"
    );

    // Eleven minutes on, removing it is a protected action: confirmed with the passkey, then
    // the removal goes ahead.
    app.clock.advance(chrono::Duration::minutes(11));
    browser
        .client
        .goto(&format!("{base}/account/security"))
        .await
        .unwrap();
    browser.wait_text("table", "Work laptop").await;
    let used = browser
        .client
        .find(Locator::Css("td[data-label='Last used']"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_ne!(used, "never");
    browser
        .click("form[action$='/remove'] button[type=submit]")
        .await;
    browser.wait_text("h1", "Confirm it’s you").await;
    browser
        .click("form[data-passkey=get] button[type=submit]")
        .await;
    browser
        .wait_text(".flash-success", "passkey was removed")
        .await;
    browser.wait_text("main", "No passkeys yet.").await;
    app.set_aside_security_notice(email).await;
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"sudo.confirmed".to_string()));
    assert!(actions.contains(&"mfa.passkey_removed".to_string()));

    // Gone from the portal: the authenticator's credential no longer signs in.
    browser.sign_out().await;
    browser
        .click("form[action='/login/passkey'] button[type=submit]")
        .await;
    browser
        .wait_text(".flash-error", "That passkey could not sign you in")
        .await;
    assert_eq!(browser.path().await, "/login");
    browser.close().await;
}

both_backends!(a_passkey_is_registered_used_and_removed);
