//! Every state-changing form needs the session's CSRF token: without it, or with a wrong one,
//! the answer is 403 and nothing changes. GET never changes state.

use crate::support::*;

const ADMIN: &str = "ada@concat.test";

async fn posts_without_a_valid_token_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    // A live setup link (no admin yet) is checked first, before an admin exists.
    let setup = path_of(app.setup_link.as_ref().unwrap());
    let new_pw = "another quite long passphrase";
    let setup_fields = [
        ("name", "X"),
        ("email", "x@concat.test"),
        ("password", new_pw),
        ("confirm", new_pw),
    ];
    assert_eq!(app.post_raw(&setup, &setup_fields).await.status(), 403);
    assert_eq!(
        app.get(&setup).await.status(),
        200,
        "the setup link still works"
    );

    app.create_admin(ADMIN, "Ada").await;
    let victim = app.create_user("victim@concat.test", "Victim").await;
    // Live one-time links, so a forged POST would have something to change.
    app.post_form("/forgot-password", &[("email", "victim@concat.test")])
        .await;
    let reset = path_of(&find_link(
        &app.one_email_to("victim@concat.test").await.text,
        "/reset-password/",
    ));
    app.login_ok(ADMIN).await;
    app.post_form(
        "/admin/users/invite",
        &[("email", "grace@concat.test"), ("name", "Grace")],
    )
    .await;
    let invite = path_of(&find_link(
        &app.one_email_to("grace@concat.test").await.text,
        "/set-password/",
    ));
    let before_audit = app.audit_actions().await.len();
    let suspend = format!("/admin/users/{victim}/suspend");
    let routes: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/login", vec![("email", ADMIN), ("password", PASSWORD)]),
        ("/logout", vec![]),
        ("/forgot-password", vec![("email", ADMIN)]),
        (&reset, vec![("password", new_pw), ("confirm", new_pw)]),
        (&invite, vec![("password", new_pw), ("confirm", new_pw)]),
        ("/account/name", vec![("display_name", "Changed")]),
        (
            "/account/password",
            vec![
                ("current", PASSWORD),
                ("password", new_pw),
                ("confirm", new_pw),
            ],
        ),
        (
            "/admin/users/invite",
            vec![("email", "new@concat.test"), ("name", "New")],
        ),
        (&suspend, vec![]),
        ("/admin/outbox/none/retry", vec![]),
        (
            "/request-access",
            vec![("name", "X"), ("email", "x@example.test")],
        ),
    ];
    for (path, fields) in &routes {
        let missing = app.post_raw(path, fields).await;
        assert_eq!(missing.status(), 403, "POST {path} without a token");
        assert!(
            missing.text().await.unwrap().contains("Form expired"),
            "{path}: a page that explains"
        );
        let mut wrong = fields.clone();
        wrong.push(("csrf_token", "not-the-token"));
        assert_eq!(
            app.post_raw(path, &wrong).await.status(),
            403,
            "POST {path} with a wrong token"
        );
        // A token from another session is wrong too.
        let (other, _) = client();
        let foreign = app.csrf_with(&other).await;
        let mut theirs = fields.clone();
        theirs.push(("csrf_token", &foreign));
        assert_eq!(
            app.post_raw(path, &theirs).await.status(),
            403,
            "POST {path} with another session's token"
        );
    }
    // Nothing changed: still signed in with the same name, the victim still active, the links
    // still valid, no audit entries, no mail.
    assert!(app.get_html("/account").await.contains("value=\"Ada\""));
    assert_eq!(app.audit_actions().await.len(), before_audit);
    let users = app.get_html("/admin/users?q=victim").await;
    assert!(
        users.contains("victim@concat.test")
            && users.contains("badge-active")
            && !users.contains("badge-suspended")
    );
    assert!(!app
        .get_html("/admin/users")
        .await
        .contains("new@concat.test"));
    let (fresh, _) = client();
    assert_eq!(app.get_with(&fresh, &reset).await.status(), 200);
    assert_eq!(app.get_with(&fresh, &invite).await.status(), 200);
    assert_eq!(app.login_with(&fresh, ADMIN, PASSWORD).await.status(), 303);
    assert_eq!(
        app.login_with(&fresh, "victim@concat.test", PASSWORD)
            .await
            .status(),
        303
    );
    // Rejected forms never log the token in their path.
    let logs = captured_logs();
    assert!(logs.contains("form rejected: missing or invalid CSRF token"));
    for link in [&reset, &invite, &setup] {
        assert!(
            !logs.contains(link.rsplit('/').next().unwrap()),
            "a token from {link} reached the logs"
        );
    }
}

async fn get_never_changes_state(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    app.login_ok(ADMIN).await;
    let victim = app.create_user("victim@concat.test", "Victim").await;
    for path in [
        "/logout".to_string(),
        format!("/admin/users/{victim}/suspend"),
        "/account/password".into(),
    ] {
        let res = app.get(&path).await;
        assert_eq!(res.status(), 405, "GET {path}");
    }
    assert_eq!(app.get("/admin").await.status(), 200, "still signed in");
    assert!(app.get_html("/admin/users").await.contains("badge-active"));
}

both_backends!(
    posts_without_a_valid_token_are_refused_and_change_nothing,
    get_never_changes_state
);
