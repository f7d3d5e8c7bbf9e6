//! Where each role lands and what the navigation names (issue 14): a ConCat admin on the admin
//! dashboard, a developer on their integrations, an organization admin on their organization,
//! after signing in and after setting a password through an emailed link; top-bar labels that
//! name each role's thing, "Docs" for everyone, and `aria-current` on where you are.

use crate::support::*;

fn header_of(html: &str) -> &str {
    let start = html.find("<header").expect("a header");
    let end = html.find("</main>").expect("a main");
    &html[start..end]
}

/// The text of each link in `html` whose opening tag contains `marker`, in order.
fn link_texts(html: &str, marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(marker) {
        rest = &rest[at..];
        let open_end = rest.find('>').unwrap();
        let close = rest.find("</a>").unwrap();
        out.push(rest[open_end + 1..close].trim().to_string());
        rest = &rest[close..];
    }
    out
}

/// The navigation links (text) of `html`'s header and section menus.
fn nav_labels(html: &str) -> Vec<String> {
    link_texts(header_of(html), "<a ")
}

/// The text of the links marked `aria-current="page"`.
fn current_links(html: &str) -> Vec<String> {
    link_texts(html, "aria-current=\"page\"")
}

async fn location_of_login(app: &TestApp, email: &str) -> (reqwest::Client, String) {
    let (c, _) = client();
    let res = app.login_with(&c, email, PASSWORD).await;
    assert_eq!(res.status(), 303, "sign-in of {email}");
    let to = res.headers()["location"].to_str().unwrap().to_string();
    (c, to)
}

async fn each_role_lands_where_their_work_is(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin(ADMIN_EMAIL, "Ada").await;
    let (_, to) = location_of_login(&app, ADMIN_EMAIL).await;
    assert_eq!(to, "/admin");

    let dev = app
        .approved_developer("dana@ticketly.test", "Ticketly")
        .await;
    drop(dev);
    let (_, to) = location_of_login(&app, "dana@ticketly.test").await;
    assert_eq!(to, "/developer");

    // An org admin who is not a developer: their organization (straight to it, as there is one).
    let (org, _) = app.org_with_admin("Acme Events", "olga@acme.test").await;
    let (olga, to) = location_of_login(&app, "olga@acme.test").await;
    assert_eq!(to, "/org");
    let res = app.get_with(&olga, "/org").await;
    assert_eq!(res.headers()["location"], format!("/org/{org}").as_str());

    // Someone with no role yet lands where they can request access.
    app.create_user("nobody@else.test", "Nobody").await;
    let (_, to) = location_of_login(&app, "nobody@else.test").await;
    assert_eq!(to, "/developer");

    // A `next` the user was sent from wins over the landing page.
    let (c, _) = client();
    let res = app
        .post_form_with(
            &c,
            "/login",
            &[
                ("email", "olga@acme.test"),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/account");
}

async fn setting_a_password_from_a_link_signs_in_and_lands(backend: Backend) {
    let app = spawn_app(backend).await;
    // An invited org admin: the invitation's password link signs her in, on her organization.
    let admin = app.admin().await;
    let invite = app
        .create_org(&admin, "Globex Conferences", "olga@globex.test")
        .await;
    let link = path_of(&find_link(&invite.text, "/set-password/"));
    let (olga, _) = client();
    let res = app
        .post_form_with(
            &olga,
            &link,
            &[("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("/org/org_"),
        "lands on the organization: {to}"
    );
    let page = app.get_with(&olga, &to).await;
    assert_eq!(page.status(), 200, "signed in");
    let html = page.text().await.unwrap();
    assert!(html.contains("Globex Conferences"));
    assert!(html.contains("You are signed in."), "says so");

    // A ConCat admin resetting a password: signed in on the admin dashboard; the session they
    // had elsewhere ends.
    app.post_form("/forgot-password", &[("email", ADMIN_EMAIL)])
        .await;
    let email = app.one_email_to(ADMIN_EMAIL).await;
    let link = path_of(&find_link(&email.text, "/reset-password/"));
    let (ada, _) = client();
    let new_pw = "another long passphrase for ada";
    let res = app
        .post_form_with(&ada, &link, &[("password", new_pw), ("confirm", new_pw)])
        .await;
    assert_eq!(res.status(), 303);
    // Ada has a second factor: the link stands in for the password only.
    assert_eq!(res.headers()["location"], "/login/verify");
    assert_eq!(app.get_with(&ada, "/admin").await.status(), 303);
    let res = app.after_password(&ada, ADMIN_EMAIL, res).await;
    assert_eq!(res.headers()["location"], "/admin");
    assert_eq!(app.get_with(&ada, "/admin").await.status(), 200);
    let old = app.get_with(&admin, "/admin").await;
    assert_eq!(old.status(), 303, "the old session ended");
    let changed = app.one_email_to(ADMIN_EMAIL).await;
    assert!(changed.subject.contains("password was changed"));
    // Each sign-in is audited, the ones a link made too: Ada's form sign-in, Olga's
    // invitation link, Ada's reset link.
    let logins = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|a| a == "login.succeeded")
        .count();
    assert_eq!(logins, 3);
    assert!(old.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));
}

async fn the_top_bar_names_each_roles_thing(backend: Backend) {
    let app = spawn_app(backend).await;
    // Signed out: Docs, Request access, Sign in.
    let home = app.get_html("/").await;
    let labels = nav_labels(&home);
    assert!(labels.contains(&"Docs".to_string()), "{labels:?}");
    assert!(labels.contains(&"Sign in".to_string()), "{labels:?}");

    let dev = app
        .approved_developer("dana@ticketly.test", "Ticketly")
        .await;
    let html = app
        .get_with(&dev.client, "/developer")
        .await
        .text()
        .await
        .unwrap();
    let labels = nav_labels(&html);
    assert!(
        labels.contains(&"My integrations".to_string()),
        "{labels:?}"
    );
    assert!(labels.contains(&"Docs".to_string()), "{labels:?}");
    assert!(
        !labels.contains(&"My organizations".to_string()),
        "{labels:?}"
    );
    assert!(!labels.contains(&"Admin".to_string()), "{labels:?}");
    assert_eq!(current_links(&html), vec!["My integrations"]);

    let (org, olga) = app.org_with_admin("Acme Events", "olga@acme.test").await;
    let html = app
        .get_with(&olga, &format!("/org/{org}/events"))
        .await
        .text()
        .await
        .unwrap();
    let labels = nav_labels(&html);
    assert!(
        labels.contains(&"My organizations".to_string()),
        "{labels:?}"
    );
    assert!(
        !labels.contains(&"My integrations".to_string()),
        "{labels:?}"
    );
    // One organization: no "Switch organization" that would reload the same page.
    assert!(
        !labels.contains(&"Switch organization".to_string()),
        "{labels:?}"
    );
    assert_eq!(current_links(&html), vec!["My organizations", "Events"]);

    // A second organization: the chooser appears.
    let admin = app.admin().await;
    let invite = app.create_org(&admin, "Second Org", "olga@acme.test").await;
    assert_eq!(app.accept_invitation_as(&olga, &invite).await.status(), 303);
    let html = app
        .get_with(&olga, &format!("/org/{org}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(nav_labels(&html).contains(&"Switch organization".to_string()));
    assert_eq!(current_links(&html), vec!["My organizations", "Overview"]);

    // The ConCat admin: "Admin" in the top bar; the admin pages have their own menu.
    let html = app
        .get_with(&admin, "/admin/audit")
        .await
        .text()
        .await
        .unwrap();
    let labels = nav_labels(&html);
    assert!(labels.contains(&"Admin".to_string()), "{labels:?}");
    assert!(labels.contains(&"Audit log".to_string()), "{labels:?}");
    assert!(
        !labels.contains(&"My integrations".to_string()),
        "{labels:?}"
    );
    assert_eq!(current_links(&html), vec!["Admin", "Audit log"]);
    let dashboard = app.get_with(&admin, "/admin").await.text().await.unwrap();
    assert_eq!(current_links(&dashboard), vec!["Admin", "Dashboard"]);
    // The docs page is "Docs" for everyone.
    let docs = app
        .get_with(&admin, "/docs/api")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(current_links(&docs), vec!["Docs"]);
}

both_backends!(
    each_role_lands_where_their_work_is,
    setting_a_password_from_a_link_signs_in_and_lands,
    the_top_bar_names_each_roles_thing,
);
