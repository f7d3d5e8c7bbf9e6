//! Second factors as a user with an authenticator app handles them: the harness keeps each
//! enrolled user's TOTP secret (read off the enrolment page, like a phone scanning it) and
//! computes codes with `totp-rs` at the portal's (manual) clock. A code works once, so when the
//! steps the portal accepts now (this one and one either side) are spent, the harness waits
//! for the next step by moving the clock on 30 seconds, as a person would wait for a new code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use concat_portal::clock::Clock;

use super::harness::TestApp;
use super::pages::{csrf_of, unescaped};
use super::stories::PASSWORD;

/// An enrolled authenticator secret and the last step the harness used, by email.
type Enrolled = HashMap<String, (Vec<u8>, i64)>;

/// The authenticator apps of the test's users.
#[derive(Clone, Default)]
pub struct Authenticators(Arc<Mutex<Enrolled>>);

pub const STEP: i64 = 30;

/// The 6-digit code of `secret` at Unix time `at` (RFC 6238, SHA-1, 30 s), by `totp-rs`.
pub fn code_at(secret: &[u8], at: i64) -> String {
    totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        STEP as u64,
        secret.to_vec(),
        None,
        String::new(),
    )
    .generate(at as u64)
}

/// The base32 key an enrolment page shows for typing in, decoded.
pub fn secret_on_page(html: &str) -> Vec<u8> {
    let marker = "<code class=\"secret\">";
    let start = html.find(marker).expect("a key to type in") + marker.len();
    let base32 = &html[start..start + html[start..].find('<').unwrap()];
    totp_rs::Secret::Encoded(base32.to_string())
        .to_bytes()
        .expect("a base32 key")
}

impl Authenticators {
    pub fn secret(&self, email: &str) -> Option<Vec<u8>> {
        self.0.lock().unwrap().get(email).map(|(s, _)| s.clone())
    }

    pub fn remember(&self, email: &str, secret: Vec<u8>, step: i64) {
        self.0
            .lock()
            .unwrap()
            .insert(email.to_string(), (secret, step));
    }
}

impl TestApp {
    /// The current TOTP step of the portal's clock.
    pub fn step(&self) -> i64 {
        self.clock.now().timestamp() / STEP
    }

    /// A code for `email`'s authenticator that the portal has not seen yet.
    pub fn fresh_code(&self, email: &str) -> String {
        let (secret, last) = self
            .authenticators
            .0
            .lock()
            .unwrap()
            .get(email)
            .cloned()
            .unwrap_or_else(|| panic!("{email} has no authenticator app"));
        loop {
            let now = self.step();
            if let Some(step) = ((now - 1)..=(now + 1)).find(|s| *s > last) {
                self.authenticators.remember(email, secret.clone(), step);
                return code_at(&secret, step * STEP);
            }
            self.clock.advance(chrono::Duration::seconds(STEP));
        }
    }

    /// Sets up an authenticator app for the signed-in `client` (`email`) over HTTP: the
    /// enrolment page, a code, the recovery codes page. Returns the recovery codes.
    pub async fn enroll_totp(&self, client: &reqwest::Client, email: &str) -> Vec<String> {
        self.enroll_totp_page(client, email)
            .await
            .split("<li><code>")
            .skip(1)
            .map(|s| s.split('<').next().unwrap().to_string())
            .collect()
    }

    /// [`enroll_totp`](Self::enroll_totp), returning the recovery codes page (shown once).
    pub async fn enroll_totp_page(&self, client: &reqwest::Client, email: &str) -> String {
        let page = self.get_with(client, "/account/security/totp").await;
        assert_eq!(page.status(), 200, "the enrolment page");
        let html = page.text().await.unwrap();
        let secret = secret_on_page(&html);
        let token = csrf_of(&html);
        self.authenticators.remember(email, secret, i64::MIN);
        let code = self.fresh_code(email);
        let res = client
            .post(self.url("/account/security/totp"))
            .form(&[("csrf_token", token.as_str()), ("code", code.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "the code was accepted");
        assert_eq!(
            res.headers()["location"],
            "/account/security/recovery-codes"
        );
        self.set_aside_security_notice(email).await;
        let page = self
            .get_with(client, "/account/security/recovery-codes")
            .await;
        assert_eq!(page.status(), 200, "the recovery codes, once");
        page.text().await.unwrap()
    }

    /// Takes the "sign-in security changed" email the enrolment queued for `email` out of the
    /// outbox (the harness's own enrolments; tests of the email itself read it from the
    /// mailbox), leaving every other queued email for the test.
    pub async fn set_aside_security_notice(&self, email: &str) {
        use concat_portal::db::schema::outbox::dsl as o;
        use diesel::prelude::*;
        self.background.idle().await;
        let to = email.to_lowercase();
        let removed = concat_portal::db::run(&self.pool, move |c| {
            let rows: Vec<(String, String)> = o::outbox
                .filter(o::kind.eq("security_changed"))
                .filter(o::sent_at.is_null())
                .select((o::id, o::recipient))
                .load(c)?;
            let mine: Vec<String> = rows
                .into_iter()
                .filter(|(_, r)| r.to_lowercase() == to)
                .map(|(id, _)| id)
                .collect();
            Ok(diesel::delete(o::outbox.filter(o::id.eq_any(mine))).execute(c)?)
        })
        .await
        .unwrap();
        assert_eq!(removed, 1, "one security notice for {email}");
    }

    /// What follows a password that checked out: the second step with a fresh code for a user
    /// with an authenticator app, or enrolment when the policy requires a factor. Other
    /// answers come back as they are.
    pub async fn after_password(
        &self,
        client: &reqwest::Client,
        email: &str,
        res: reqwest::Response,
    ) -> reqwest::Response {
        let to = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        match to.as_deref() {
            Some("/login/verify") if self.authenticators.secret(email).is_some() => {
                let page = self.get_with(client, "/login/verify").await;
                let token = csrf_of(&page.text().await.unwrap());
                let code = self.fresh_code(email);
                client
                    .post(self.url("/login/verify"))
                    .form(&[("csrf_token", token.as_str()), ("code", code.as_str())])
                    .send()
                    .await
                    .unwrap()
            }
            Some("/account/security") => {
                // Enrol, then carry on where the sign-in would have landed.
                self.enroll_totp(client, email).await;
                self.get_with(client, "/").await
            }
            _ => res,
        }
    }

    /// Answers a "confirm it's you" page (sudo mode) the way its user would: with a fresh
    /// authenticator code, or the password when they have no factor; `None` when `html` is not
    /// such a page.
    pub(super) async fn confirm_sudo(
        &self,
        client: &reqwest::Client,
        path: &str,
        html: &str,
    ) -> Option<reqwest::Response> {
        if !html.contains("data-sudo") {
            return None;
        }
        let html = unescaped(html);
        let form_at = html.rfind("<form method=\"post\" action=\"").unwrap();
        let form = &html[form_at..];
        let form = &form[..form.find("</form>").unwrap()];
        let mut fields: Vec<(String, String)> = form
            .split("<input type=\"hidden\" name=\"")
            .skip(1)
            .map(|s| {
                let name = s.split('"').next().unwrap().to_string();
                let value = s
                    .split("value=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                (name, value.to_string())
            })
            .collect();
        if form.contains("name=\"sudo_code\"") {
            let email_at = html.find("data-email=\"").unwrap() + "data-email=\"".len();
            let email = html[email_at..].split('"').next().unwrap().to_string();
            fields.push(("sudo_code".into(), self.fresh_code(&email)));
        } else {
            fields.push(("sudo_password".into(), PASSWORD.into()));
        }
        Some(
            client
                .post(self.url(path))
                .form(&fields)
                .send()
                .await
                .unwrap(),
        )
    }
}
