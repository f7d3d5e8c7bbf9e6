//! "Forgot password" links and invitation links.

use chrono::Duration;

use crate::support::*;

const ADMIN: &str = "ada@concat.test";
const NEW_PW: &str = "a brand new long passphrase";

fn main_of(html: &str) -> String {
    let start = html.find("<main").unwrap();
    let end = html.find("</main>").unwrap();
    html[start..end].to_string()
}

async fn reset_link_works_once(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    let res = app
        .post_form("/forgot-password", &[("email", "ADA@concat.test")])
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Check your email"));

    let email = app.one_email_to(ADMIN).await;
    let link = find_link(&email.text, "/reset-password/");
    assert!(email.html.contains(&link));
    let path = path_of(&link);
    let form = app.get_html(&path).await;
    assert!(form.contains(ADMIN));

    let weak = app
        .post_form(
            &path,
            &[("password", "password1234"), ("confirm", "password1234")],
        )
        .await;
    assert_eq!(weak.status(), 422);
    assert!(weak.text().await.unwrap().contains("too common"));

    let res = app
        .post_form(&path, &[("password", NEW_PW), ("confirm", NEW_PW)])
        .await;
    assert_eq!(res.status(), 303);
    // The link proved the address: signed in at once; a ConCat admin without a second factor
    // sets one up first, then reaches the admin dashboard.
    assert_eq!(res.headers()["location"], "/account/security");
    app.enroll_totp(&app.client, ADMIN).await;
    assert_eq!(app.get("/admin").await.status(), 200);
    let changed = app.one_email_to(ADMIN).await;
    assert!(changed.subject.contains("password was changed"));

    assert_eq!(app.login(ADMIN, PASSWORD).await.status(), 401);
    assert_eq!(app.login(ADMIN, NEW_PW).await.status(), 303);

    // The link is single-use.
    let (other, _) = client();
    assert_eq!(app.get_with(&other, &path).await.status(), 404);
    let again = app
        .post_form_with(
            &other,
            &path,
            &[
                ("password", "yet another passphrase"),
                ("confirm", "yet another passphrase"),
            ],
        )
        .await;
    assert_eq!(again.status(), 404);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("This link is not valid"));
    // Neither the token nor the passwords reach the logs (requests and errors were logged).
    let logs = captured_logs();
    assert!(
        logs.contains("/reset-password/{token}"),
        "requests to the link were logged by route"
    );
    let token = path.rsplit('/').next().unwrap();
    assert!(!logs.contains(token), "the reset token is in the logs");
    assert!(!logs.contains(NEW_PW) && !logs.contains(PASSWORD));
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"password.reset_requested".to_string()));
    assert!(actions.contains(&"password.reset".to_string()));
}

async fn reset_link_expires_after_an_hour(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    app.post_form("/forgot-password", &[("email", ADMIN)]).await;
    let path = path_of(&find_link(
        &app.one_email_to(ADMIN).await.text,
        "/reset-password/",
    ));
    app.clock.advance(Duration::minutes(59));
    assert_eq!(app.get(&path).await.status(), 200);
    app.clock.advance(Duration::minutes(2));
    assert_eq!(app.get(&path).await.status(), 404);
    assert_eq!(
        app.post_form(&path, &[("password", NEW_PW), ("confirm", NEW_PW)])
            .await
            .status(),
        404
    );
    assert_eq!(
        app.login(ADMIN, PASSWORD).await.status(),
        303,
        "password unchanged"
    );
}

async fn same_answer_for_unknown_email(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    let known = app.post_form("/forgot-password", &[("email", ADMIN)]).await;
    let known = (known.status(), main_of(&known.text().await.unwrap()));
    let unknown = app
        .post_form("/forgot-password", &[("email", "nobody@concat.test")])
        .await;
    let unknown = (unknown.status(), main_of(&unknown.text().await.unwrap()));
    assert_eq!(known, unknown);
    assert_eq!(
        app.deliver_emails().await.len(),
        1,
        "only the real account gets mail"
    );

    let bad = app
        .post_form("/forgot-password", &[("email", "not an email")])
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Enter a valid email address"));
    assert!(html.contains("value=\"not an email\""));
}

/// Issue 12.2: an existing account used to take twice as long to answer as an unknown email.
/// The answer no longer waits for the lookup at all: with the users table locked by another
/// connection, both answers still arrive, identical; the email follows once the lock is gone.
async fn forgot_password_answers_before_looking_anything_up(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    let token = app.csrf_with(&app.client).await;
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (locked_tx, locked) = tokio::sync::oneshot::channel::<()>();
    let url = app.db.url.clone();
    let holder = tokio::task::spawn_blocking(move || {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut conn: Box<dyn FnMut(&str)> = if backend == Backend::Postgres {
            let mut c = diesel::PgConnection::establish(&url).unwrap();
            c.batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
                .unwrap();
            Box::new(move |sql| c.batch_execute(sql).unwrap())
        } else {
            let path = url.trim_start_matches("sqlite://").to_string();
            let mut c = diesel::SqliteConnection::establish(&path).unwrap();
            c.batch_execute("BEGIN IMMEDIATE").unwrap();
            Box::new(move |sql| c.batch_execute(sql).unwrap())
        };
        locked_tx.send(()).unwrap();
        let _ = held.recv_timeout(std::time::Duration::from_secs(30));
        conn("COMMIT");
    });
    locked.await.unwrap();
    let mut answers = Vec::new();
    for email in [ADMIN, "nobody@concat.test"] {
        let res = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            app.client
                .post(app.url("/forgot-password"))
                .form(&[("csrf_token", token.as_str()), ("email", email)])
                .send(),
        )
        .await
        .expect("the answer does not wait for the database")
        .unwrap();
        answers.push((res.status(), main_of(&res.text().await.unwrap())));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 200);
    release.send(()).unwrap();
    holder.await.unwrap();
    let sent = app.deliver_emails().await;
    assert_eq!(sent.len(), 1, "the real account still gets its link");
    assert_eq!(sent[0].to, ADMIN);
}

async fn reset_emails_are_capped_per_hour(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    for _ in 0..5 {
        app.post_form("/forgot-password", &[("email", ADMIN)]).await;
    }
    assert_eq!(app.deliver_emails().await.len(), 3);
    app.clock.advance(Duration::minutes(61));
    app.post_form("/forgot-password", &[("email", ADMIN)]).await;
    assert_eq!(app.deliver_emails().await.len(), 1);
}

async fn links_die_with_a_password_change_or_a_suspension(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN, "Ada").await;
    app.create_user("dev@example.test", "Dev").await;
    app.post_form("/forgot-password", &[("email", ADMIN)]).await;
    let reset = path_of(&find_link(
        &app.one_email_to(ADMIN).await.text,
        "/reset-password/",
    ));
    app.login_ok(ADMIN).await;
    app.post_form(
        "/account/password",
        &[
            ("current", PASSWORD),
            ("password", NEW_PW),
            ("confirm", NEW_PW),
        ],
    )
    .await;
    assert_eq!(app.one_email_to(ADMIN).await.kind, "password_changed");
    assert_eq!(
        app.get(&reset).await.status(),
        404,
        "a reset link dies when the password changes"
    );

    let (dev, _) = client();
    app.post_form_with(&dev, "/forgot-password", &[("email", "dev@example.test")])
        .await;
    let dev_reset = path_of(&find_link(
        &app.one_email_to("dev@example.test").await.text,
        "/reset-password/",
    ));
    let dev_id = app.user_id("dev@example.test").await;
    assert_eq!(
        app.post_form(&format!("/admin/users/{dev_id}/suspend"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(
        app.get_with(&dev, &dev_reset).await.status(),
        404,
        "a suspended account's links do not work"
    );
    let res = app
        .post_form_with(
            &dev,
            &dev_reset,
            &[("password", NEW_PW), ("confirm", NEW_PW)],
        )
        .await;
    assert_eq!(res.status(), 404);
}

both_backends!(
    forgot_password_answers_before_looking_anything_up,
    links_die_with_a_password_change_or_a_suspension,
    reset_link_works_once,
    reset_link_expires_after_an_hour,
    same_answer_for_unknown_email,
    reset_emails_are_capped_per_hour,
);
