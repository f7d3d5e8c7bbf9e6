//! Forms sent back with errors (issue 14): a summary above the form lists and links each field
//! in error and takes the focus; hints are tied to their fields; a password mismatch is shown
//! under the confirmation, next to other errors; a website without a scheme gets https://.

use crate::support::*;

fn summary_of(html: &str) -> &str {
    let start = html
        .find("class=\"error-summary\"")
        .expect("an error summary");
    let end = start + html[start..].find("</div>").unwrap();
    &html[start..end]
}

async fn the_error_summary_links_each_field_and_takes_the_focus(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app
        .submit_access_request(
            &app.client,
            "not-an-email",
            &[("name", ""), ("use_case", "")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    let summary = summary_of(&html);
    assert!(summary.contains("data-focus-on-load") && summary.contains("tabindex=\"-1\""));
    assert!(summary.contains("role=\"alert\""));
    for field in ["name", "email", "use_case"] {
        assert!(
            summary.contains(&format!("href=\"#f-{field}\"")),
            "{field} in {summary}"
        );
        assert!(
            html.contains(&format!("id=\"f-{field}\"")),
            "{field} exists"
        );
    }
    // In the form's order: name before email before use case.
    let at = |f: &str| summary.find(&format!("#f-{f}")).unwrap();
    assert!(at("name") < at("email") && at("email") < at("use_case"));
    // The use case's hint is tied to its field, with the error.
    let textarea = &html[html.find("<textarea id=\"f-use_case\"").unwrap()..];
    let textarea = &textarea[..textarea.find('>').unwrap()];
    assert!(
        textarea.contains("aria-describedby=\"h-use_case e-use_case\""),
        "{textarea}"
    );
    // Nothing typed is lost.
    assert!(html.contains("value=\"not-an-email\""));
}

async fn a_password_mismatch_shows_under_the_confirmation_next_to_other_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN_EMAIL, "Ada").await;
    app.login_ok(ADMIN_EMAIL).await;
    let res = app
        .post_form(
            "/account/password",
            &[
                ("current", "not my password at all"),
                ("password", "short"),
                ("confirm", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    let summary = summary_of(&html);
    for field in ["current", "password", "confirm"] {
        assert!(
            summary.contains(&format!("href=\"#f-{field}\"")),
            "{field} in {summary}"
        );
    }
    let at = |f: &str| summary.find(&format!("#f-{f}")).unwrap();
    assert!(
        at("current") < at("password") && at("password") < at("confirm"),
        "in the form's order: {summary}"
    );
    let confirm_error = html
        .find("id=\"e-confirm\"")
        .expect("under the confirmation");
    assert!(html[confirm_error..].contains("The two passwords do not match."));
    assert!(html.contains("id=\"e-password\""), "the weak password too");
    assert!(
        html.contains("id=\"e-current\""),
        "and the wrong current one"
    );
}

async fn a_website_without_a_scheme_gets_https(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app
        .request_access_with(
            &app.client,
            "dana@ticketly.example",
            &[("website", "ticketly.example")],
        )
        .await;
    assert_eq!(res.status(), 200, "accepted");
    let admin = app.admin().await;
    let id = app.request_id_for("dana@ticketly.example").await;
    let page = app
        .get_with(&admin, &format!("/admin/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("href=\"https://ticketly.example/\""));
    app.deliver_emails().await;
}

both_backends!(
    the_error_summary_links_each_field_and_takes_the_focus,
    a_password_mismatch_shows_under_the_confirmation_next_to_other_errors,
    a_website_without_a_scheme_gets_https,
);
