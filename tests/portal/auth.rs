//! Sign in and out, the brute-force limit, session renewal, timeouts, and ending sessions.

use chrono::Duration;

use crate::support::*;

const ADMIN: &str = "ada@concat.test";

async fn login_success_wrong_password_and_unknown_email(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;

    let wrong = app.login(ADMIN, "not the right passphrase").await;
    assert_eq!(wrong.status(), 401);
    let wrong_html = wrong.text().await.unwrap();
    assert!(wrong_html.contains("Invalid email or password."));
    assert!(
        wrong_html.contains(&format!("value=\"{ADMIN}\"")),
        "the email is kept"
    );

    let unknown = app.login("nobody@concat.test", PASSWORD).await;
    assert_eq!(unknown.status(), 401, "same answer for an unknown email");
    assert!(unknown
        .text()
        .await
        .unwrap()
        .contains("Invalid email or password."));

    let empty = app.login("", "").await;
    assert_eq!(empty.status(), 422);
    assert!(empty
        .text()
        .await
        .unwrap()
        .contains("Enter your email and password."));

    // Email is case-insensitive.
    let ok = app.login("ADA@Concat.Test", PASSWORD).await;
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/admin");
    assert!(app.get_html("/admin").await.contains("Admin dashboard"));

    let actions = app.audit_actions().await;
    assert_eq!(
        actions.iter().filter(|a| *a == "login.failed").count(),
        2,
        "{actions:?}"
    );
    assert!(actions.contains(&"login.succeeded".to_string()));
}

async fn login_redirects_back_to_the_requested_page_only_on_site(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    let res = app.get("/admin/audit?action=login.failed").await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/login?next="), "{location}");
    let html = app.get_html(&location).await;
    assert!(html.contains("value=\"/admin/audit?action=login.failed\""));

    let res = app
        .post_form(
            "/login",
            &[
                ("email", ADMIN),
                ("password", PASSWORD),
                ("next", "/admin/audit?action=login.failed"),
            ],
        )
        .await;
    // (A ConCat admin sets up a second factor first; the page asked for comes after it.)
    assert_eq!(res.headers()["location"], "/account/security");
    let page = app.enroll_totp_page(&app.client, ADMIN).await;
    assert!(
        page.contains("href=\"/admin/audit?action=login.failed\""),
        "continue goes on"
    );
    let (again, _) = client();
    let res = app
        .post_form_with(
            &again,
            "/login",
            &[
                ("email", ADMIN),
                ("password", PASSWORD),
                ("next", "/admin/audit?action=login.failed"),
            ],
        )
        .await;
    let res = app.after_password(&again, ADMIN, res).await;
    assert_eq!(
        res.headers()["location"],
        "/admin/audit?action=login.failed"
    );

    let (other, _) = client();
    let res = app
        .post_form_with(
            &other,
            "/login",
            &[
                ("email", ADMIN),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    let res = app.after_password(&other, ADMIN, res).await;
    assert_eq!(
        res.headers()["location"],
        "/admin",
        "an off-site next is ignored"
    );
}

async fn brute_force_limit_per_account(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    for i in 0..10 {
        let res = app
            .login(ADMIN, &format!("wrong passphrase number {i}"))
            .await;
        assert_eq!(res.status(), 401, "attempt {i}");
    }
    // Even the right password is refused now, with a clear wait time.
    let locked = app.login(ADMIN, PASSWORD).await;
    assert_eq!(locked.status(), 429);
    assert_eq!(locked.headers()["retry-after"], "900");
    assert!(locked
        .text()
        .await
        .unwrap()
        .contains("Too many failed sign-in attempts. Try again in 15 minutes."));

    app.clock.advance(Duration::minutes(10));
    let still = app.login(ADMIN, PASSWORD).await;
    assert_eq!(still.status(), 429);
    assert!(still
        .text()
        .await
        .unwrap()
        .contains("Try again in 5 minutes."));

    app.clock
        .advance(Duration::minutes(5) + Duration::seconds(1));
    assert_eq!(app.login(ADMIN, PASSWORD).await.status(), 303);
    assert!(app
        .audit_actions()
        .await
        .contains(&"login.locked".to_string()));
}

async fn brute_force_limit_per_client_address(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    for i in 0..10 {
        let res = app
            .login(&format!("guess{i}@concat.test"), "some guessed passphrase")
            .await;
        assert_eq!(res.status(), 401);
    }
    // Ten failures from this address, on ten accounts: the address is locked for everyone.
    let res = app.login(ADMIN, PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Try again in 15 minutes."));
}

async fn session_is_renewed_at_login(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    let _ = app.get("/login").await;
    let before = app
        .session_cookie()
        .expect("an anonymous session cookie with the CSRF token");
    let old_token = app.csrf_with(&app.client).await;
    app.login_ok(ADMIN).await;
    let new_token = app.csrf_with(&app.client).await;
    assert_ne!(old_token, new_token, "a new CSRF token at login");
    // A form carrying the pre-login token is refused, so a planted session is worthless.
    let stale = app
        .post_raw(
            "/account/name",
            &[("display_name", "Planted"), ("csrf_token", &old_token)],
        )
        .await;
    assert_eq!(stale.status(), 403);
    assert!(app.get_html("/account").await.contains("value=\"Ada\""));

    // The pre-login cookie is not a signed-in session; the signed-in one is.
    let (replay, jar) = client();
    jar.add_cookie_str(&before, &app.address.parse().unwrap());
    assert_eq!(app.get_with(&replay, "/admin").await.status(), 303);
    let after = app.session_cookie().unwrap();
    let (copy, jar) = client();
    jar.add_cookie_str(&after, &app.address.parse().unwrap());
    assert_eq!(app.get_with(&copy, "/admin").await.status(), 200);
}

async fn parallel_guesses_cannot_beat_the_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    let token = app.csrf_with(&app.client).await;
    let statuses = race_statuses(30, |i| {
        let pw = format!("parallel wrong guess {i}");
        app.client.post(app.url("/login")).form(&[
            ("csrf_token", token.as_str()),
            ("email", ADMIN),
            ("password", pw.as_str()),
        ])
    })
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        20,
        "{statuses:?}"
    );
}

async fn behind_a_trusted_proxy_the_proxys_address_counts(backend: Backend) {
    let app = spawn_app_with(backend, &[("PORTAL_TRUST_PROXY_HEADERS", "true")]).await;
    app.create_admin(ADMIN, "Ada").await;
    for i in 0..10 {
        // The client forges the first entries; the proxy appends the real address last.
        let token = app.csrf_with(&app.client).await;
        let res = app
            .client
            .post(app.url("/login"))
            .header("x-forwarded-for", format!("10.0.0.{i}, 203.0.113.7"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("email", &format!("guess{i}@concat.test")),
                ("password", "some guessed passphrase"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let token = app.csrf_with(&app.client).await;
    let send = |xff: &'static str| {
        app.client
            .post(app.url("/login"))
            .header("x-forwarded-for", xff)
            .form(&[
                ("csrf_token", token.as_str()),
                ("email", ADMIN),
                ("password", PASSWORD),
            ])
            .send()
    };
    assert_eq!(
        send("198.51.100.1, 203.0.113.7").await.unwrap().status(),
        429,
        "forging the first entry does not help"
    );
    assert_eq!(
        send("203.0.113.99").await.unwrap().status(),
        303,
        "another client is not locked out"
    );
}

async fn oversized_or_binary_emails_fail_like_wrong_credentials(backend: Backend) {
    let app = spawn_app(backend).await;
    let long = format!("{}@concat.test", "a".repeat(9000));
    for email in [long.as_str(), "nul\u{0}@concat.test"] {
        let res = app.login(email, PASSWORD).await;
        assert_eq!(res.status(), 401);
        assert!(res
            .text()
            .await
            .unwrap()
            .contains("Invalid email or password."));
    }
    app.create_admin(ADMIN, "Ada").await;
    app.login_ok(ADMIN).await;
    for path in [
        "/admin/users?q=%00x",
        "/admin/audit?actor=%00&action=%00",
        "/admin/requests?q=%00",
    ] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
}

async fn logout_ends_every_session_of_the_user(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    let (laptop, _) = client();
    let (phone, _) = client();
    assert_eq!(app.login_with(&laptop, ADMIN, PASSWORD).await.status(), 303);
    assert_eq!(app.login_with(&phone, ADMIN, PASSWORD).await.status(), 303);
    assert_eq!(app.get_with(&phone, "/admin").await.status(), 200);

    let out = app.post_form_with(&laptop, "/logout", &[]).await;
    assert_eq!(out.status(), 303);
    assert_eq!(out.headers()["location"], "/login");
    assert!(app
        .get_with(&laptop, "/login")
        .await
        .text()
        .await
        .unwrap()
        .contains("You have signed out."));
    assert_eq!(app.get_with(&laptop, "/admin").await.status(), 303);
    assert_eq!(
        app.get_with(&phone, "/admin").await.status(),
        303,
        "the other session ended too"
    );
    assert!(app.audit_actions().await.contains(&"logout".to_string()));
}

async fn password_change_ends_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    let (other, _) = client();
    app.login_ok(ADMIN).await;
    assert_eq!(app.login_with(&other, ADMIN, PASSWORD).await.status(), 303);

    let new_pw = "another quite long passphrase";
    let wrong_current = app
        .post_form(
            "/account/password",
            &[
                ("current", "not my passphrase"),
                ("password", new_pw),
                ("confirm", new_pw),
            ],
        )
        .await;
    assert_eq!(wrong_current.status(), 422);
    assert!(wrong_current
        .text()
        .await
        .unwrap()
        .contains("Your current password is not correct."));
    let mismatch = app
        .post_form(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", new_pw),
                ("confirm", "something else entirely"),
            ],
        )
        .await;
    assert!(mismatch
        .text()
        .await
        .unwrap()
        .contains("The two passwords do not match."));

    let res = app
        .post_form(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", new_pw),
                ("confirm", new_pw),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.get("/account").await.status(),
        200,
        "this session continues"
    );
    assert_eq!(
        app.get_with(&other, "/admin").await.status(),
        303,
        "the other session ended"
    );

    let email = app.one_email_to(ADMIN).await;
    assert!(email.subject.contains("password was changed"));
    let (fresh, _) = client();
    assert_eq!(app.login_with(&fresh, ADMIN, PASSWORD).await.status(), 401);
    assert_eq!(app.login_with(&fresh, ADMIN, new_pw).await.status(), 303);
    assert!(app
        .audit_actions()
        .await
        .contains(&"password.changed".to_string()));
}

async fn idle_and_absolute_timeouts(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    app.login_ok(ADMIN).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(
        app.get("/admin").await.status(),
        200,
        "29 idle minutes are fine"
    );
    app.clock.advance(Duration::minutes(31));
    let res = app.get("/admin").await;
    assert_eq!(res.status(), 303, "31 idle minutes end the session");
    assert!(app
        .get_html("/login")
        .await
        .contains("Your session has expired."));

    app.login_ok(ADMIN).await;
    // Active every 25 minutes: still ends 12 hours after sign-in. Bounded: 29 steps.
    let mut ended_after = None;
    for step in 1..=29 {
        app.clock.advance(Duration::minutes(25));
        if app.get("/admin").await.status() != 200 {
            ended_after = Some(step * 25);
            break;
        }
    }
    assert_eq!(
        ended_after,
        Some(725),
        "the session ends at the first request past 12 hours"
    );
}

async fn profile_name_change_is_validated_and_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    app.login_ok(ADMIN).await;
    let bad = app
        .post_form("/account/name", &[("display_name", "   ")])
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("Enter a name."));
    let ok = app
        .post_form("/account/name", &[("display_name", "Ada Lovelace")])
        .await;
    assert_eq!(ok.status(), 303);
    let html = app.get_html("/account").await;
    assert!(html.contains("Your display name has been updated."));
    assert!(html.contains("value=\"Ada Lovelace\""));
    assert!(app
        .audit_actions()
        .await
        .contains(&"account.name_changed".to_string()));
}

/// Issue 12.1: `email=not-an-email` used to run a dummy argon2 check before the throttle, so a
/// storm of them was never counted and each cost 19 MiB. Now it is answered at once (no hash)
/// and counts against the client address.
async fn malformed_emails_are_answered_at_once_and_count_for_the_address(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    let before = app.passwords.computed();
    for _ in 0..10 {
        let res = app.login("not-an-email", "some guessed passphrase").await;
        assert_eq!(res.status(), 401);
        let html = res.text().await.unwrap();
        assert!(html.contains("Invalid email or password."), "{html}");
        assert!(
            html.contains("value=\"not-an-email\""),
            "what was typed is kept"
        );
    }
    assert_eq!(
        app.passwords.computed(),
        before,
        "no argon2 work for an email no account can have"
    );
    // The address is now locked, for well-formed emails too, without hashing.
    let locked = app.login(ADMIN, PASSWORD).await;
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
    assert_eq!(app.passwords.computed(), before);
    let actions = app.audit_actions().await;
    assert_eq!(
        actions.iter().filter(|a| *a == "login.failed").count(),
        10,
        "{actions:?}"
    );
}

/// Issue 12.1: every argon2 computation goes through one bounded gate; beyond its workers and
/// short queue a sign-in is refused at once with a 503 page and `Retry-After`, not queued (so
/// memory does not grow with the number of concurrent sign-ins), and the refusal does not count
/// as a failed attempt.
async fn concurrent_sign_ins_beyond_the_gate_get_503(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("PORTAL_TRUST_PROXY_HEADERS", "true"),
            ("PORTAL_PASSWORD_HASH_CONCURRENCY", "1"),
        ],
    )
    .await;
    let (workers, queue) = app.passwords.capacity();
    let storm = 4 * (workers + queue);
    let token = app.csrf_with(&app.client).await;
    let results = race(storm, |i| {
        let request = app
            .client
            .post(app.url("/login"))
            .header("x-forwarded-for", format!("198.51.{}.{}", i / 200, i % 200))
            .form(&[
                ("csrf_token", token.as_str()),
                ("email", &format!("nobody{i}@concat.test")),
                ("password", "some guessed passphrase"),
            ]);
        async move {
            let res = request.send().await.unwrap();
            let status = res.status().as_u16();
            let retry = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (status, retry, res.text().await.unwrap())
        }
    })
    .await;
    let busy: Vec<_> = results.iter().filter(|(s, ..)| *s == 503).collect();
    let judged = results.iter().filter(|(s, ..)| *s == 401).count();
    assert_eq!(
        busy.len() + judged,
        storm,
        "only 401 or 503: {:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert!(
        judged >= queue,
        "the worker and its queue were used: {judged}"
    );
    assert!(
        !busy.is_empty(),
        "{storm} at once cannot all fit in {workers} + {queue}"
    );
    for (_, retry, html) in &busy {
        assert_eq!(retry.as_deref(), Some("2"));
        assert!(html.contains("Please try again in 2 seconds."), "{html}");
    }
    assert_eq!(app.passwords.computed() as usize, judged);
    // Refused sign-ins were not judged, so they are not counted as failures.
    let failures: i64 = concat_portal::db::run(&app.pool, |c| {
        use diesel::RunQueryDsl;
        Ok(
            diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT COUNT(*) FROM login_failures")
                .get_result(c)?,
        )
    })
    .await
    .unwrap();
    assert_eq!(failures as usize, judged);
    // Once the storm is over, signing in works again.
    app.create_admin(ADMIN, "Ada").await;
    assert_eq!(app.login(ADMIN, PASSWORD).await.status(), 303);
}

/// Guessing the current password from a signed-in session is throttled like signing in: after
/// 10 wrong guesses even the right one is refused, with when to try again, and nothing changes.
async fn current_password_guesses_are_throttled(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    app.login_ok(ADMIN).await;
    let new_pw = "another quite long passphrase";
    let change = |current: &'static str| {
        let app = &app;
        async move {
            app.post_form(
                "/account/password",
                &[
                    ("current", current),
                    ("password", new_pw),
                    ("confirm", new_pw),
                ],
            )
            .await
        }
    };
    for _ in 0..10 {
        let res = change("not my passphrase").await;
        assert_eq!(res.status(), 422);
        assert!(res
            .text()
            .await
            .unwrap()
            .contains("Your current password is not correct."));
    }
    let locked = change(PASSWORD).await;
    assert_eq!(locked.status(), 422);
    let body = locked.text().await.unwrap();
    assert!(
        body.contains("Too many wrong passwords. Try again in"),
        "{body}"
    );
    // Nothing changed.
    assert!(!app
        .audit_actions()
        .await
        .contains(&"password.changed".to_string()));
}

both_backends!(
    current_password_guesses_are_throttled,
    malformed_emails_are_answered_at_once_and_count_for_the_address,
    concurrent_sign_ins_beyond_the_gate_get_503,
    parallel_guesses_cannot_beat_the_limit,
    behind_a_trusted_proxy_the_proxys_address_counts,
    oversized_or_binary_emails_fail_like_wrong_credentials,
    login_success_wrong_password_and_unknown_email,
    login_redirects_back_to_the_requested_page_only_on_site,
    brute_force_limit_per_account,
    brute_force_limit_per_client_address,
    session_is_renewed_at_login,
    logout_ends_every_session_of_the_user,
    password_change_ends_other_sessions,
    idle_and_absolute_timeouts,
    profile_name_change_is_validated_and_audited,
);
