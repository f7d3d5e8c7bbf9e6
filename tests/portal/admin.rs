//! Admin pages: who may see them, inviting admins, suspending users, the audit log.

use chrono::Duration;

use crate::support::*;

const ADMIN: &str = "ada@concat.test";
const DEV: &str = "dev@example.test";

fn admin_get_routes() -> Vec<&'static str> {
    vec!["/admin", "/admin/users", "/admin/audit", "/admin/outbox"]
}

async fn admin_routes_refuse_anonymous_and_non_admin_users(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    let target = app.user_id(ADMIN).await;
    let posts = [
        (
            "/admin/users/invite".to_string(),
            vec![("email", "x@concat.test"), ("name", "X")],
        ),
        (format!("/admin/users/{target}/suspend"), vec![]),
        (format!("/admin/users/{target}/reactivate"), vec![]),
        ("/admin/outbox/any/retry".to_string(), vec![]),
    ];

    // Anonymous: sent to sign in, for every method.
    for path in admin_get_routes() {
        let res = app.get(path).await;
        assert_eq!(res.status(), 303, "GET {path}");
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next="));
    }
    for (path, fields) in &posts {
        let res = app.post_form(path, fields).await;
        assert_eq!(res.status(), 303, "POST {path}");
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"));
    }

    // Signed in without the admin role: 403 everywhere, nothing changes.
    app.create_user(DEV, "Dev").await;
    app.login_ok(DEV).await;
    for path in admin_get_routes() {
        let res = app.get(path).await;
        assert_eq!(res.status(), 403, "GET {path}");
        assert!(res.text().await.unwrap().contains("Access denied"));
    }
    for (path, fields) in &posts {
        assert_eq!(
            app.post_form(path, fields).await.status(),
            403,
            "POST {path}"
        );
    }
    let (admin, _) = client();
    assert_eq!(
        app.login_with(&admin, ADMIN, PASSWORD).await.status(),
        303,
        "the admin was not suspended"
    );
    let users = app
        .get_with(&admin, "/admin/users")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !users.contains("x@concat.test"),
        "no invitation was created"
    );
}

async fn invited_admin_sets_a_password_and_signs_in(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    app.login_ok(ADMIN).await;

    let bad = app
        .post_form(
            "/admin/users/invite",
            &[("email", "grace@"), ("name", "Grace")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Enter a valid email address") && html.contains("value=\"Grace\""));

    let res = app
        .post_form(
            "/admin/users/invite",
            &[("email", "grace@concat.test"), ("name", "Grace Hopper")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let dup = app
        .post_form(
            "/admin/users/invite",
            &[("email", "GRACE@concat.test"), ("name", "Grace")],
        )
        .await;
    assert_eq!(dup.status(), 422);
    assert!(dup.text().await.unwrap().contains("already pending"));

    let email = app.one_email_to("grace@concat.test").await;
    assert!(email.text.contains("Ada invited you") && email.text.contains("ConCat administrator"));
    let path = path_of(&find_link(&email.text, "/set-password/"));
    let (grace, _) = client();
    assert_eq!(
        app.login_with(&grace, "grace@concat.test", PASSWORD)
            .await
            .status(),
        401,
        "no password yet"
    );
    let res = app
        .post_form_with(
            &grace,
            &path,
            &[("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.login_with(&grace, "grace@concat.test", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(app.get_with(&grace, "/admin").await.status(), 200);
    assert_eq!(
        app.get_with(&grace, &path).await.status(),
        404,
        "single use"
    );
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"invitation.invited".to_string())
            && actions.contains(&"invitation.accepted".to_string())
            && actions.contains(&"password.set_from_invitation".to_string())
    );
}

async fn invitation_links_expire_after_seven_days(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    app.login_ok(ADMIN).await;
    app.post_form(
        "/admin/users/invite",
        &[("email", "grace@concat.test"), ("name", "Grace")],
    )
    .await;
    let path = path_of(&find_link(
        &app.one_email_to("grace@concat.test").await.text,
        "/set-password/",
    ));
    app.clock.advance(Duration::days(7) - Duration::minutes(1));
    assert_eq!(app.get(&path).await.status(), 200);
    app.clock.advance(Duration::minutes(2));
    let expired = app.get(&path).await;
    assert_eq!(expired.status(), 410);
    assert!(expired.text().await.unwrap().contains("Invitation expired"));
}

async fn suspension_ends_sessions_and_blocks_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    app.create_admin("bob@concat.test", "Bob").await;
    let bob = app.user_id("bob@concat.test").await;
    let (bobs, _) = client();
    assert_eq!(
        app.login_with(&bobs, "bob@concat.test", PASSWORD)
            .await
            .status(),
        303
    );
    app.login_ok(ADMIN).await;

    let me = app.user_id(ADMIN).await;
    let res = app
        .post_form(&format!("/admin/users/{me}/suspend"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert!(app
        .get_html("/admin/users")
        .await
        .contains("You cannot suspend your own account."));

    assert_eq!(
        app.post_form(&format!("/admin/users/{bob}/suspend"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(
        app.get_with(&bobs, "/admin").await.status(),
        303,
        "Bob's session ended"
    );
    let refused = app.login_with(&bobs, "bob@concat.test", PASSWORD).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("suspended"));
    let wrong = app
        .login_with(&bobs, "bob@concat.test", "a wrong passphrase here")
        .await;
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Invalid email or password."),
        "no hint without the password"
    );

    assert_eq!(
        app.post_form(&format!("/admin/users/{bob}/reactivate"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(
        app.login_with(&bobs, "bob@concat.test", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        app.post_form("/admin/users/no-such-user/suspend", &[])
            .await
            .status(),
        404
    );
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"user.suspended".to_string())
            && actions.contains(&"user.reactivated".to_string())
    );
}

async fn audit_log_filters_and_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    // 60 failed logins (spread so the throttle does not engage) + the admin's own sign-in.
    for i in 0..60 {
        if i % 9 == 0 {
            app.clock.advance(Duration::minutes(16));
        }
        app.login(&format!("intruder{i}@evil.test"), "a wrong passphrase here")
            .await;
    }
    app.login_ok(ADMIN).await;

    // Keyset pages: 50 newest, then "Older" from the last one shown, and back.
    let link = rel_link;
    let entries = |html: &str| html.matches("<code>login.failed</code>").count();
    let page1 = app.get_html("/admin/audit?action=login.failed").await;
    assert_eq!(entries(&page1), 50, "50 per page");
    assert_eq!(link(&page1, "prev"), None, "the newest page");
    let older = link(&page1, "next").expect("an Older link");
    assert!(
        older.starts_with("/admin/audit?action=login.failed&older="),
        "{older}"
    );
    let page2 = app.get_html(&older).await;
    assert_eq!(entries(&page2), 10);
    assert_eq!(link(&page2, "next"), None, "the oldest page");
    let newer = link(&page2, "prev").expect("a Newer link");
    let back = app.get_html(&newer).await;
    assert_eq!(entries(&back), 50);
    assert_eq!(link(&back, "prev"), None, "back at the newest");
    assert_eq!(link(&back, "next"), Some(older), "the same Older link");

    let by_actor = app.get_html("/admin/audit?actor=intruder7%40").await;
    assert_eq!(entries(&by_actor), 1, "{by_actor}");
    let today = app.clock_date();
    let by_date = app
        .get_html(&format!(
            "/admin/audit?action=login.succeeded&from={today}&until={today}"
        ))
        .await;
    assert_eq!(by_date.matches("<code>login.succeeded</code>").count(), 1);
    let none = app
        .get_html("/admin/audit?action=login.succeeded&until=2000-01-01")
        .await;
    assert!(none.contains("No entries match."));

    // Entries read as sentences with names, linked to their pages; the raw record is one click
    // away; the date filters are date inputs.
    let signed_in = unescaped(&by_date);
    assert!(
        signed_in.contains("<a href=\"/admin/users?q=ada%40concat.test\">Ada</a>\n      signed in"),
        "{signed_in}"
    );
    assert!(by_date.contains("<summary>Record</summary>"));
    assert!(
        by_date.contains("<code>login.succeeded</code>"),
        "the code, in the record"
    );
    assert!(by_date.contains("name=\"from\" type=\"date\""));
    assert!(by_date.contains("name=\"until\" type=\"date\""));
    assert!(
        by_date.contains(">signed in (login.succeeded)</option>"),
        "the filter says what each code means"
    );
    let failed = unescaped(&page2);
    assert!(failed.contains("<strong>anonymous (intruder"), "{failed}");
    assert!(failed.contains("failed to sign in"));
}

both_backends!(
    admin_routes_refuse_anonymous_and_non_admin_users,
    invited_admin_sets_a_password_and_signs_in,
    invitation_links_expire_after_seven_days,
    suspension_ends_sessions_and_blocks_sign_in,
    audit_log_filters_and_pages,
);
