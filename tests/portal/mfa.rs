//! Issue 15: second factors. The authenticator app with codes computed here from the enrolled
//! secret (`totp-rs`) at the portal's manual clock; recovery codes; the sign-in policy forcing
//! enrolment; sudo mode asking again after ten minutes and then completing the original POST;
//! an admin resetting another user's factors, and the command line doing it. Passkeys are
//! driven in Chromium (`browser::passkeys`).

use crate::support::*;

/// Signs in with the password only and returns the response (no harness help).
async fn password_step(app: &TestApp, client: &reqwest::Client, email: &str) -> reqwest::Response {
    app.post_form_with(
        client,
        "/login",
        &[("email", email), ("password", PASSWORD)],
    )
    .await
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Posts a code on the second step of signing in (reading the page's CSRF token).
async fn verify_with(app: &TestApp, client: &reqwest::Client, code: &str) -> reqwest::Response {
    let page = app.get_with(client, "/login/verify").await;
    assert_eq!(page.status(), 200);
    let token = csrf_of(&page.text().await.unwrap());
    client
        .post(app.url("/login/verify"))
        .form(&[("csrf_token", token.as_str()), ("code", code)])
        .send()
        .await
        .unwrap()
}

/// A developer (not covered by the default policy) with an authenticator app; their secret.
async fn developer_with_app(app: &TestApp, email: &str) -> (reqwest::Client, Vec<u8>, Vec<String>) {
    app.create_user(email, "Dev").await;
    let (client, _) = client();
    assert_eq!(password_step(app, &client, email).await.status(), 303);
    let codes = app.enroll_totp(&client, email).await;
    assert_eq!(codes.len(), 10, "ten recovery codes, shown once");
    let secret = app.authenticators.secret(email).unwrap();
    (client, secret, codes)
}

async fn the_admin_policy_forces_enrolment_first(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN_EMAIL, "Ada").await;
    let (admin, _) = client();
    let res = password_step(&app, &admin, ADMIN_EMAIL).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/security", "straight to enrolment");
    // Nothing else opens until a factor is set up.
    for path in ["/admin", "/admin/requests", "/developer", "/account", "/"] {
        let res = app.get_with(&admin, path).await;
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(location(&res), "/account/security", "{path}");
    }
    let page = app.get_with(&admin, "/account/security").await;
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Your role requires a second factor"));
    // A form elsewhere is refused too (before it changes anything).
    let res = app
        .post_form_with(
            &admin,
            "/admin/users/invite",
            &[("email", "x@concat.test"), ("name", "X")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/security");
    assert!(app.unsent().await.is_empty(), "nobody was invited");

    let codes = app.enroll_totp(&admin, ADMIN_EMAIL).await;
    assert_eq!(codes.len(), 10);
    assert_eq!(
        app.get_with(&admin, "/admin").await.status(),
        200,
        "open after enrolling"
    );
    // The recovery codes were shown once.
    let again = app
        .get_with(&admin, "/account/security/recovery-codes")
        .await;
    assert_eq!(again.status(), 303);

    // The next sign-in asks for the factor after the password.
    let (fresh, _) = client();
    let res = password_step(&app, &fresh, ADMIN_EMAIL).await;
    assert_eq!(location(&res), "/login/verify");
    assert_eq!(
        app.get_with(&fresh, "/admin").await.status(),
        303,
        "not signed in yet"
    );
    let code = app.fresh_code(ADMIN_EMAIL);
    let res = verify_with(&app, &fresh, &code).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin");
    assert_eq!(app.get_with(&fresh, "/admin").await.status(), 200);

    // An organization admin is not covered by the default policy.
    let (_, olga) = app.org_with_admin("Acme Events", "olga@acme.example").await;
    assert_eq!(app.get_with(&olga, "/org").await.status(), 303);
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"mfa.totp_added".to_string()),
        "{actions:?}"
    );
}

async fn org_admins_are_covered_when_the_policy_says_so(backend: Backend) {
    let app = spawn_app_with(backend, &[("PORTAL_REQUIRE_MFA", "admins,org_admins")]).await;
    let admin = app.admin().await;
    let invite = app
        .create_org(&admin, "Acme Events", "olga@acme.example")
        .await;
    // Accepting the invitation sets a password and signs in: then enrolment comes first.
    let olga = app.accept_invitation(&invite).await;
    let orgs = app.get_with(&olga, "/org").await;
    assert_eq!(orgs.status(), 303);
    assert_eq!(location(&orgs), "/account/security");
    app.enroll_totp(&olga, "olga@acme.example").await;
    let orgs = app.get_with(&olga, "/org").await;
    assert_ne!(location(&orgs), "/account/security", "open after enrolling");
    assert!(matches!(orgs.status().as_u16(), 200 | 303));
    let page = app
        .get_with(&olga, "/account/security")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Your role requires a second factor"));
    // Removing the only factor is refused while the policy requires one.
    let res = app
        .post_form_with(&olga, "/account/security/totp/remove", &[])
        .await;
    assert_eq!(res.status(), 303);
    let page = app
        .get_with(&olga, "/account/security")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("add another one before removing"), "{page}");
    assert!(page.contains("Remove the authenticator app"), "still on");
}

async fn authenticator_codes_right_wrong_reused_and_one_step_old(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "dev@ticketly.example";
    let (_, secret, _) = developer_with_app(&app, email).await;
    let step = app.step();

    // Wrong code: refused, nothing signed in.
    let (c1, _) = client();
    assert_eq!(
        location(&password_step(&app, &c1, email).await),
        "/login/verify"
    );
    let wrong = code_at(&secret, (step + 5) * STEP);
    let res = verify_with(&app, &c1, &wrong).await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("That code is not right"));
    assert_eq!(app.get_with(&c1, "/developer").await.status(), 303);

    // The code of the step before (clock drift): accepted. (Enrolment spent an earlier step.)
    app.clock.advance(chrono::Duration::seconds(2 * STEP));
    let now = app.step();
    assert!(now - 1 > step);
    let old = code_at(&secret, (now - 1) * STEP);
    let res = verify_with(&app, &c1, &old).await;
    assert_eq!(res.status(), 303, "a code one step old works");
    assert_eq!(app.get_with(&c1, "/developer").await.status(), 200);

    // The same code again: refused (a code works once).
    let (c2, _) = client();
    password_step(&app, &c2, email).await;
    assert_eq!(
        verify_with(&app, &c2, &old).await.status(),
        401,
        "a reused code is refused"
    );
    // So is an older step's code once a newer one was used.
    let older = code_at(&secret, (now - 2) * STEP);
    assert_eq!(verify_with(&app, &c2, &older).await.status(), 401);
    // The current code works.
    let current = code_at(&secret, now * STEP);
    assert_eq!(verify_with(&app, &c2, &current).await.status(), 303);
    app.authenticators.remember(email, secret.clone(), now);

    // A code two steps old is outside the window.
    app.clock.advance(chrono::Duration::seconds(3 * STEP));
    let (c3, _) = client();
    password_step(&app, &c3, email).await;
    let stale = code_at(&secret, (app.step() - 2) * STEP);
    assert_eq!(verify_with(&app, &c3, &stale).await.status(), 401);

    // Lockout: ten failures within the window lock the account's codes, with a time to retry.
    for _ in 0..9 {
        assert_eq!(verify_with(&app, &c3, "000000").await.status(), 401);
    }
    let locked = verify_with(&app, &c3, &code_at(&secret, app.step() * STEP)).await;
    assert_eq!(locked.status(), 429, "locked even for the right code");
    assert!(locked.headers().contains_key("retry-after"));
    assert!(locked.text().await.unwrap().contains("Try again in"));
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"mfa.failed".to_string()));
    assert!(actions.contains(&"mfa.locked".to_string()));
    // After the window, the right code works again.
    app.clock.advance(chrono::Duration::minutes(16));
    let (c4, _) = client();
    password_step(&app, &c4, email).await;
    let code = app.fresh_code(email);
    assert_eq!(verify_with(&app, &c4, &code).await.status(), 303);
}

async fn recovery_codes_work_once_and_can_be_made_anew(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "dev@ticketly.example";
    let (dev, _, codes) = developer_with_app(&app, email).await;

    let (c1, _) = client();
    password_step(&app, &c1, email).await;
    let res = verify_with(&app, &c1, &codes[0].to_uppercase()).await;
    assert_eq!(
        res.status(),
        303,
        "a recovery code signs in (case does not matter)"
    );
    let used = app.one_email_to(email).await;
    assert!(
        used.text.contains("A recovery code was used"),
        "{}",
        used.text
    );
    assert!(used.text.contains("9 remain"), "{}", used.text);
    let page = app
        .get_with(&c1, "/account/security")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("9 of 10 unused"));

    let (c2, _) = client();
    password_step(&app, &c2, email).await;
    assert_eq!(
        verify_with(&app, &c2, &codes[0]).await.status(),
        401,
        "used once only"
    );

    // New codes replace the old ones.
    let res = app
        .post_form_with(&dev, "/account/security/recovery-codes", &[])
        .await;
    assert_eq!(location(&res), "/account/security/recovery-codes");
    let page = app
        .get_with(&dev, "/account/security/recovery-codes")
        .await
        .text()
        .await
        .unwrap();
    let fresh: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert!(app
        .one_email_to(email)
        .await
        .text
        .contains("New recovery codes"));
    assert_eq!(
        verify_with(&app, &c2, &codes[1]).await.status(),
        401,
        "old codes stopped"
    );
    assert_eq!(verify_with(&app, &c2, &fresh[0]).await.status(), 303);
    app.one_email_to(email).await;
}

async fn sudo_mode_asks_again_after_ten_minutes_and_completes_the_post(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    // Within ten minutes of the sign-in: straight through.
    let res = app
        .post_form_with(
            &admin,
            "/admin/users/invite",
            &[("email", "bo@concat.test"), ("name", "Bo")],
        )
        .await;
    assert_eq!(res.status(), 303);
    app.one_email_to("bo@concat.test").await;

    app.clock.advance(chrono::Duration::minutes(11));
    // Keep the session alive (idle timeout 30 min) and read a token, as the page would.
    let page = app.get_with(&admin, "/admin/users").await;
    assert_eq!(page.status(), 200, "reading needs no confirmation");
    let token = csrf_of(&page.text().await.unwrap());
    let form = [
        ("csrf_token", token.as_str()),
        ("email", "cy@concat.test"),
        ("name", "Cy"),
    ];
    let res = admin
        .post(app.url("/admin/users/invite"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "asked to confirm");
    assert_eq!(res.headers()["x-reauthentication"], "required");
    let html = unescaped(&res.text().await.unwrap());
    assert!(html.contains("Confirm it’s you"));
    assert!(
        html.contains("name=\"email\" value=\"cy@concat.test\""),
        "the form is kept"
    );
    assert!(html.contains("name=\"sudo_code\""));
    assert!(app.unsent().await.is_empty(), "nothing happened yet");

    // A forged form (no valid CSRF token) is never dressed up as "confirm it's you" (which
    // would carry a fresh token): it is refused as it stands.
    let res = admin
        .post(app.url("/admin/users/invite"))
        .form(&[
            ("csrf_token", "forged"),
            ("email", "ev@evil.example"),
            ("name", "Ev"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("x-reauthentication").is_none());

    // A wrong code: asked again, still nothing done.
    let mut with_code: Vec<(&str, &str)> = form.to_vec();
    with_code.push(("sudo_code", "000000"));
    let res = admin
        .post(app.url("/admin/users/invite"))
        .form(&with_code)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(app.unsent().await.is_empty());

    // The right code: the original POST completes with its fields.
    let code = app.fresh_code(ADMIN_EMAIL);
    let mut with_code: Vec<(&str, &str)> = form.to_vec();
    with_code.push(("sudo_code", &code));
    let res = admin
        .post(app.url("/admin/users/invite"))
        .form(&with_code)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "done");
    let invite = app.one_email_to("cy@concat.test").await;
    assert!(invite.text.contains("Cy"));
    // And for the next ten minutes nothing is asked again.
    app.clock.advance(chrono::Duration::minutes(9));
    let res = app
        .post_form_with(
            &admin,
            "/admin/users/invite",
            &[("email", "di@concat.test"), ("name", "Di")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(res.headers().get("x-reauthentication").is_none());
    app.one_email_to("di@concat.test").await;
    assert!(app
        .audit_actions()
        .await
        .contains(&"sudo.confirmed".to_string()));

    // A user without a factor confirms with the password.
    let dev = app
        .approved_developer("dana@ticketly.example", "Ticketly")
        .await;
    app.clock.advance(chrono::Duration::minutes(11));
    let page = app
        .get_with(
            &dev.client,
            &format!("/developer/integrations/{}", dev.integration_id),
        )
        .await;
    let token = csrf_of(&page.text().await.unwrap());
    let path = format!("/developer/integrations/{}/secrets", dev.integration_id);
    let res = dev
        .client
        .post(app.url(&path))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("name=\"sudo_password\""),
        "asks for the password"
    );
    let res = dev
        .client
        .post(app.url(&path))
        .form(&[
            ("csrf_token", token.as_str()),
            ("sudo_password", "wrong password here"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = dev
        .client
        .post(app.url(&path))
        .form(&[("csrf_token", token.as_str()), ("sudo_password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(
        matches!(res.status().as_u16(), 200 | 303),
        "the secret is created: {}",
        res.status()
    );
    assert!(res.headers().get("x-reauthentication").is_none());
}

async fn an_admin_resets_another_users_factors_and_the_cli_can_too(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let email = "dev@ticketly.example";
    let (dev, _, _) = developer_with_app(&app, email).await;
    let dev_id = app.user_id(email).await;
    let admin_id = app.user_id(ADMIN_EMAIL).await;

    // Not their own.
    let res = app
        .post_form_with(&admin, &format!("/admin/users/{admin_id}/reset-mfa"), &[])
        .await;
    assert_eq!(res.status(), 303);
    let page = app
        .get_with(&admin, "/admin/users")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("cannot reset your own"),
        "refused for oneself"
    );
    // A developer cannot reset anyone's.
    let res = app
        .post_form_with(&dev, &format!("/admin/users/{admin_id}/reset-mfa"), &[])
        .await;
    assert_eq!(res.status(), 403);

    let res = app
        .post_form_with(&admin, &format!("/admin/users/{dev_id}/reset-mfa"), &[])
        .await;
    assert_eq!(res.status(), 303);
    let notice = app.one_email_to(email).await;
    assert!(
        notice.text.contains("removed every second factor"),
        "{}",
        notice.text
    );
    // Their sessions ended; the next sign-in needs no code (and sets none up: not required).
    assert_eq!(app.get_with(&dev, "/developer").await.status(), 303);
    let (again, _) = client();
    let res = password_step(&app, &again, email).await;
    assert_eq!(location(&res), "/developer");
    assert!(app.audit_actions().await.contains(&"mfa.reset".to_string()));

    // The command line, for when every admin is locked out.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_concat-portal"))
        .args(["admin", "reset-mfa", "--email", ADMIN_EMAIL])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.db.url)
        .env("PORTAL_DATA_DIR", app.db.dir.path())
        .env("PORTAL_BASE_URL", "http://portal.test")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // (The command line stamps the email with the real time; the test clock catches up.)
    app.clock.advance(chrono::Duration::minutes(5));
    assert!(app
        .one_email_to(ADMIN_EMAIL)
        .await
        .text
        .contains("removed every second factor"));
    assert_eq!(
        app.get_with(&admin, "/admin").await.status(),
        303,
        "sessions ended"
    );
    // The admin enrols again at the next sign-in.
    let (ada, _) = client();
    let res = password_step(&app, &ada, ADMIN_EMAIL).await;
    assert_eq!(location(&res), "/account/security");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_concat-portal"))
        .args(["admin", "reset-mfa", "--email", "nobody@concat.test"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.db.url)
        .env("PORTAL_DATA_DIR", app.db.dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account has that email"));
}

async fn the_totp_secret_is_sealed_at_rest(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "dev@ticketly.example";
    let (_, secret, codes) = developer_with_app(&app, email).await;
    let (sealed, hashes): (Vec<String>, Vec<String>) = concat_portal::db::run(&app.pool, |c| {
        use concat_portal::db::schema::{recovery_codes as r, totp_factors as t};
        use diesel::prelude::*;
        Ok((
            t::table.select(t::secret_sealed).load(c)?,
            r::table.select(r::code_hash).load(c)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!((sealed.len(), hashes.len()), (1, 10));
    // AES-GCM: a 12-byte nonce, the 20-byte secret encrypted, a 16-byte tag.
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&sealed[0])
        .expect("base64");
    assert_eq!(raw.len(), 12 + secret.len() + 16);
    assert!(!raw.windows(secret.len()).any(|w| w == secret.as_slice()));
    // Recovery codes: 24 random characters each (about 119 bits), stored as digests only.
    for code in &codes {
        let bare: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        assert_eq!(bare.len(), 24, "{code}");
        assert!(hashes.iter().all(|h| h.len() == 64 && !h.contains(&bare)));
    }
    let base32 = totp_rs::Secret::Raw(secret.clone())
        .to_encoded()
        .to_string();
    assert!(
        !captured_logs().contains(&base32),
        "the secret never reaches the logs"
    );
}

/// A password that checked out for a user with a factor is not yet a sign-in: audited as
/// `login.password_verified`, and `login.succeeded` (with the method) only after the factor.
/// The same code sent several times at once signs in once.
async fn one_code_signs_in_once_even_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "dev@ticketly.example";
    let (_, secret, _) = developer_with_app(&app, email).await;
    app.clock.advance(chrono::Duration::seconds(2 * STEP));
    let code = code_at(&secret, app.step() * STEP);
    let mut clients = Vec::new();
    for _ in 0..6 {
        let (c, _) = client();
        assert_eq!(
            location(&password_step(&app, &c, email).await),
            "/login/verify"
        );
        let page = app.get_with(&c, "/login/verify").await;
        let token = csrf_of(&page.text().await.unwrap());
        clients.push((c, token));
    }
    let statuses = race_statuses(clients.len(), |i| {
        let (c, token) = &clients[i];
        c.post(app.url("/login/verify"))
            .form(&[("csrf_token", token.as_str()), ("code", code.as_str())])
    })
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "exactly one sign-in: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 401),
        "{statuses:?}"
    );
    let rows = concat_portal::db::run(&app.pool, |c| {
        Ok(concat_portal::db::models::audit::recent(c, 1000)?)
    })
    .await
    .unwrap();
    // (Before the app was set up, the password alone signed in once.)
    let with_app = rows
        .iter()
        .filter(|r| r.action == "login.succeeded" && r.details.contains("authenticator_app"))
        .count();
    assert_eq!(with_app, 1, "only the second step signs in, once");
    assert_eq!(
        rows.iter()
            .filter(|r| r.action == "login.password_verified")
            .count(),
        6
    );
}

/// The approval link stands in for a password only: for a user with a second factor it opens
/// once they signed in with the factor. A changed password keeps the session's last check, so
/// it does not open sudo mode either.
async fn links_and_password_changes_do_not_skip_the_factor(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev_email = "dana@ticketly.example";
    // Dana has an account (a team invitation), sets up an app, then requests access.
    let other = app
        .approved_developer("bea@boxoffice.example", "BoxOffice")
        .await;
    let team = format!("/developer/accounts/{}/team/invite", other.account_id);
    app.post_form_with(
        &other.client,
        &team,
        &[("email", dev_email), ("name", "Dana"), ("role", "member")],
    )
    .await;
    let dana = app
        .accept_invitation(&app.one_email_to(dev_email).await)
        .await;
    app.enroll_totp(&dana, dev_email).await;
    app.request_access_with(&dana, dev_email, &[]).await;
    app.deliver_emails().await;
    let admin = app.admin().await;
    let id = app.request_id_for(dev_email).await;
    app.post_form_with(&admin, &format!("/admin/requests/{id}/approve"), &[])
        .await;
    let welcome = path_of(&find_link(
        &app.one_email_to(dev_email).await.text,
        "/welcome/",
    ));

    // Someone with the link and the password but not the factor gets no secret.
    let (thief, _) = client();
    let res = app.get_with(&thief, &welcome).await;
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with("/login?next=%2Fwelcome%2F"),
        "{}",
        location(&res)
    );
    let res = app
        .post_form_with(&thief, &welcome, &[("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), 303, "no secret without the factor");
    assert_eq!(
        app.get_with(&thief, "/developer").await.status(),
        303,
        "not signed in"
    );

    // Dana, signed in with the factor, opens it and sees the secret.
    let (own, _) = client();
    assert_eq!(
        app.login_with(&own, dev_email, PASSWORD).await.status(),
        303
    );
    assert_eq!(app.get_with(&own, &welcome).await.status(), 200);
    let shown = app
        .post_form_with(&own, &welcome, &[("password", PASSWORD)])
        .await;
    assert_eq!(shown.status(), 200);
    assert!(secret_in(&shown.text().await.unwrap()).is_some());

    // Eleven minutes on, a password change does not count as confirming with the factor.
    app.clock.advance(chrono::Duration::minutes(11));
    let new_pw = "another long passphrase for dana";
    let res = app
        .post_form_with(
            &own,
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", new_pw),
                ("confirm", new_pw),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.one_email_to(dev_email).await.kind, "password_changed");
    let page = app.get_with(&own, "/account/security").await;
    assert_eq!(page.status(), 200, "still signed in");
    let token = csrf_of(&page.text().await.unwrap());
    let res = own
        .post(app.url("/account/security/recovery-codes"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-reauthentication"], "required");
    assert!(
        res.text().await.unwrap().contains("name=\"sudo_code\""),
        "the factor, not the password"
    );
}

/// Every route sudo mode names exists as a POST route: each, for a session whose last check is
/// stale, answers "confirm it's you" (a typo in the list would silently switch sudo off).
async fn every_protected_route_asks_to_confirm(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    app.clock.advance(chrono::Duration::minutes(11));
    let page = app.get_with(&admin, "/admin").await;
    let token = csrf_of(&page.text().await.unwrap());
    for pattern in concat_portal::web::factors::SENSITIVE {
        let path = pattern
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let res = admin
            .post(app.url(&path))
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{pattern}");
        assert_eq!(res.headers()["x-reauthentication"], "required", "{pattern}");
    }
    // A route not on the list goes straight to its handler.
    let res = admin
        .post(app.url("/account/name"))
        .form(&[("csrf_token", token.as_str()), ("display_name", "Ada L.")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

both_backends!(
    one_code_signs_in_once_even_at_once,
    links_and_password_changes_do_not_skip_the_factor,
    every_protected_route_asks_to_confirm,
    the_admin_policy_forces_enrolment_first,
    org_admins_are_covered_when_the_policy_says_so,
    authenticator_codes_right_wrong_reused_and_one_step_old,
    recovery_codes_work_once_and_can_be_made_anew,
    sudo_mode_asks_again_after_ten_minutes_and_completes_the_post,
    an_admin_resets_another_users_factors_and_the_cli_can_too,
    the_totp_secret_is_sealed_at_rest,
);
