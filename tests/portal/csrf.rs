//! Every state-changing form needs the session's CSRF token: without it, or with a wrong one,
//! the answer is 403 and nothing changes. GET never changes state.

use crate::helpers::*;

const ADMIN: &str = "ada@concat.test";

async fn posts_without_a_valid_token_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    let victim = app.create_user("victim@concat.test", "Victim").await;
    app.login_ok(ADMIN).await;
    let before_audit = app.audit_actions().await.len();
    let suspend = format!("/admin/users/{victim}/suspend");
    let reactivate = format!("/admin/users/{victim}/reactivate");
    let setup = app
        .setup_link
        .clone()
        .map(|l| path_of(&l))
        .unwrap_or("/setup/x".into());
    let token_path = "/reset-password/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let invite_path = "/set-password/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let new_pw = "another quite long passphrase";
    let routes: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/login", vec![("email", ADMIN), ("password", PASSWORD)]),
        ("/logout", vec![]),
        ("/forgot-password", vec![("email", ADMIN)]),
        (token_path, vec![("password", new_pw), ("confirm", new_pw)]),
        (invite_path, vec![("password", new_pw), ("confirm", new_pw)]),
        (
            &setup,
            vec![
                ("name", "X"),
                ("email", "x@concat.test"),
                ("password", new_pw),
                ("confirm", new_pw),
            ],
        ),
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
        (&reactivate, vec![]),
        ("/admin/outbox/none/retry", vec![]),
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
    // Nothing changed: still signed in, same name and password, no audit entries, no mail.
    let account = app.get_html("/account").await;
    assert!(account.contains("value=\"Ada\""));
    assert_eq!(app.audit_actions().await.len(), before_audit);
    let users = app.get_html("/admin/users").await;
    assert!(!users.contains("new@concat.test"));
    assert!(users.contains("badge-active"));
    let (fresh, _) = client();
    assert_eq!(app.login_with(&fresh, ADMIN, PASSWORD).await.status(), 303);
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
