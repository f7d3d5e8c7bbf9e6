//! Invitations are pending until the invited person accepts (issue 12, item 3): nothing is
//! granted, and the inviter learns nothing about whether an account exists.

use chrono::Duration;
use concat_portal::email::SentEmail;

use crate::support::*;

const OWNER: &str = "dana@ticketly.example";
const BEA: &str = "bea@boxoffice.example";
const NOBODY: &str = "newcomer@example.test";

/// The id in the first ".../invitations/{id}/withdraw" form of a page after `from`.
fn invitation_id_after(html: &str, from: &str) -> String {
    let at = html.find(from).expect("the invitation row");
    let rest = &html[at..];
    let start = rest.find("/invitations/").expect("a withdraw form") + "/invitations/".len();
    rest[start..].split('/').next().unwrap().to_string()
}

/// An email's text with its link and the invited email/typed name blanked out.
fn wording(e: &SentEmail, name: &str) -> String {
    let link = find_link(&e.text, "http://portal.test/");
    e.text.replace(&link, "<link>").replace(name, "<name>")
}

async fn team_of(app: &TestApp, dev: &Developer) -> String {
    app.get_with(
        &dev.client,
        &format!("/developer/accounts/{}/team", dev.account_id),
    )
    .await
    .text()
    .await
    .unwrap()
}

async fn inviting_an_existing_user_adds_nothing_and_reveals_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.approved_developer(OWNER, "Ticketly").await;
    app.create_user(BEA, "Beatrice Realname").await;
    let invite = format!("/developer/accounts/{}/team/invite", owner.account_id);

    let mut answers = Vec::new();
    for (email, name) in [(BEA, "Typed Bea"), (NOBODY, "Typed Newcomer")] {
        let res = app
            .post_form_with(
                &owner.client,
                &invite,
                &[("email", email), ("name", name), ("role", "member")],
            )
            .await;
        let location = res.headers()["location"].to_str().unwrap().to_string();
        answers.push((res.status(), location));
        // The page the owner lands on, with its flash message.
        let page = team_of(&app, &owner).await;
        let flash_at = page.find("Invitation sent to").expect("a flash");
        let flash = &page[flash_at..flash_at + page[flash_at..].find('<').unwrap()];
        answers.push((reqwest::StatusCode::OK, flash.replace(email, "<email>")));
    }
    assert_eq!(answers[0], answers[2], "same answer for both");
    assert_eq!(answers[1], answers[3], "same flash for both");
    assert_eq!(answers[0].0, 303);

    // The page shows the typed names and the emails, both "invited", never the real name.
    let page = team_of(&app, &owner).await;
    assert!(!page.contains("Beatrice Realname"));
    for (email, name) in [(BEA, "Typed Bea"), (NOBODY, "Typed Newcomer")] {
        let at = page.find(name).expect("the typed name");
        let row = &page[at..at + page[at..].find("</tr>").unwrap()];
        assert!(row.contains(email) && row.contains("invited"), "{row}");
    }
    // Same email words, apart from the link's target.
    let mut emails = app.deliver_emails().await;
    emails.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(emails.len(), 2);
    let (bea, newcomer) = (&emails[0], &emails[1]);
    assert_eq!(bea.subject, newcomer.subject);
    assert_eq!(
        wording(bea, "Typed Bea"),
        wording(newcomer, "Typed Newcomer")
    );
    assert!(bea.text.contains("Typed Bea") && !bea.text.contains("Beatrice"));

    // Bea was not added: the account is not hers to see.
    let (bea_client, _) = client();
    app.login_with(&bea_client, BEA, PASSWORD).await;
    assert_eq!(
        app.get_with(
            &bea_client,
            &format!("/developer/accounts/{}/team", owner.account_id)
        )
        .await
        .status(),
        404
    );
    let actions = app.audit_actions().await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "invitation.invited")
            .count(),
        2
    );
}

async fn the_right_user_accepts_and_joins(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.approved_developer(OWNER, "Ticketly").await;
    app.create_user(BEA, "Beatrice Realname").await;
    let invite = format!("/developer/accounts/{}/team/invite", owner.account_id);
    app.post_form_with(
        &owner.client,
        &invite,
        &[("email", BEA), ("name", "Typed Bea"), ("role", "member")],
    )
    .await;
    let email = app.one_email_to(BEA).await;
    let link = path_of(&find_link(&email.text, "/invitations/"));

    // Anonymous: the page asks to sign in as the invited email; nothing changes on GET.
    let (bea, _) = client();
    let page = app.get_with(&bea, &link).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in as") && html.contains(BEA));
    assert!(unescaped(&html).contains("a member of Ticketly's developer account"));
    // Signing in from that page comes back to it (the token travels in the form body).
    let res = bea
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf_of(&html).as_str()),
            ("email", BEA),
            ("password", PASSWORD),
            ("next", link.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], link.as_str());
    // Unchanged until Accept is pressed.
    assert!(!team_of(&app, &owner).await.contains("Beatrice Realname"));
    let res = app.accept_invitation_as(&bea, &email).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/developer/accounts/{}/team", owner.account_id).as_str()
    );
    let page = team_of(&app, &owner).await;
    assert!(
        page.contains("Beatrice Realname"),
        "a member now, by her own name"
    );
    assert!(!page.contains("Typed Bea"), "no longer an invitation");
    assert_eq!(
        app.get_with(&bea, "/developer").await.status(),
        200,
        "she sees the account"
    );
    // Single use.
    let again = app.post_form_with(&bea, &link, &[]).await;
    assert_eq!(again.status(), 404);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("already been accepted"));
    assert!(app
        .audit_actions()
        .await
        .contains(&"invitation.accepted".to_string()));
}

async fn another_signed_in_user_cannot_accept(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.approved_developer(OWNER, "Ticketly").await;
    app.create_user(BEA, "Beatrice Realname").await;
    app.create_user("mallory@example.test", "Mallory").await;
    app.post_form_with(
        &owner.client,
        &format!("/developer/accounts/{}/team/invite", owner.account_id),
        &[("email", BEA), ("name", "Bea"), ("role", "owner")],
    )
    .await;
    let email = app.one_email_to(BEA).await;
    let link = path_of(&find_link(&email.text, "/invitations/"));
    let (mallory, _) = client();
    app.login_with(&mallory, "mallory@example.test", PASSWORD)
        .await;
    let page = app.get_with(&mallory, &link).await;
    assert_eq!(page.status(), 403);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("only that account can accept it"));
    let res = app.post_form_with(&mallory, &link, &[]).await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        app.get_with(
            &mallory,
            &format!("/developer/accounts/{}/team", owner.account_id)
        )
        .await
        .status(),
        404,
        "Mallory did not join"
    );
    // Posting anonymously does not accept either.
    let (anon, _) = client();
    assert_eq!(app.post_form_with(&anon, &link, &[]).await.status(), 401);
    // Bea still can.
    let (bea, _) = client();
    app.login_with(&bea, BEA, PASSWORD).await;
    assert_eq!(app.accept_invitation_as(&bea, &email).await.status(), 303);
}

async fn invitations_can_be_withdrawn(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.approved_developer(OWNER, "Ticketly").await;
    app.create_user(BEA, "Beatrice Realname").await;
    let invite = format!("/developer/accounts/{}/team/invite", owner.account_id);
    for (email, name) in [(BEA, "Typed Bea"), (NOBODY, "Typed Newcomer")] {
        app.post_form_with(
            &owner.client,
            &invite,
            &[("email", email), ("name", name), ("role", "member")],
        )
        .await;
    }
    let mut emails = app.deliver_emails().await;
    emails.sort_by(|a, b| a.to.cmp(&b.to));
    let page = team_of(&app, &owner).await;
    for (name, email) in [("Typed Bea", &emails[0]), ("Typed Newcomer", &emails[1])] {
        let id = invitation_id_after(&page, name);
        let withdraw = format!(
            "/developer/accounts/{}/team/invitations/{id}/withdraw",
            owner.account_id
        );
        assert_eq!(
            app.post_form_with(&owner.client, &withdraw, &[])
                .await
                .status(),
            303
        );
        let link = path_of(&find_link(&email.text, "http://portal.test/"));
        let res = app.get(&link).await;
        assert_eq!(res.status(), 410, "{link}");
        assert!(res.text().await.unwrap().contains("withdrawn"));
        // Withdrawing again says it is no longer pending.
        app.post_form_with(&owner.client, &withdraw, &[]).await;
        assert!(team_of(&app, &owner).await.contains("no longer pending"));
    }
    // Neither link works: not by signing in, not by setting a password.
    let (bea, _) = client();
    app.login_with(&bea, BEA, PASSWORD).await;
    let bea_link = path_of(&find_link(&emails[0].text, "/invitations/"));
    assert_eq!(app.post_form_with(&bea, &bea_link, &[]).await.status(), 410);
    let new_link = path_of(&find_link(&emails[1].text, "/set-password/"));
    let (anon, _) = client();
    assert_eq!(
        app.post_form_with(
            &anon,
            &new_link,
            &[("password", PASSWORD), ("confirm", PASSWORD)]
        )
        .await
        .status(),
        410
    );
    let page = team_of(&app, &owner).await;
    assert!(!page.contains("Typed Bea") && !page.contains("Typed Newcomer"));
    assert_eq!(
        app.audit_actions()
            .await
            .iter()
            .filter(|a| *a == "invitation.withdrawn")
            .count(),
        2
    );
    assert_eq!(
        app.login_with(&anon, NOBODY, PASSWORD).await.status(),
        401,
        "no account was created"
    );
}

async fn invitations_expire_after_seven_days(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.approved_developer(OWNER, "Ticketly").await;
    app.create_user(BEA, "Beatrice Realname").await;
    app.post_form_with(
        &owner.client,
        &format!("/developer/accounts/{}/team/invite", owner.account_id),
        &[("email", BEA), ("name", "Typed Bea"), ("role", "member")],
    )
    .await;
    let email = app.one_email_to(BEA).await;
    let link = path_of(&find_link(&email.text, "/invitations/"));
    app.clock.advance(Duration::days(7) - Duration::minutes(1));
    let (bea, _) = client();
    app.login_with(&bea, BEA, PASSWORD).await;
    assert_eq!(app.get_with(&bea, &link).await.status(), 200);
    app.clock.advance(Duration::minutes(2));
    let page = app.get_with(&bea, &link).await;
    assert_eq!(page.status(), 410);
    assert!(page.text().await.unwrap().contains("expired"));
    assert_eq!(app.post_form_with(&bea, &link, &[]).await.status(), 410);
    // Gone from the owner's page; the owner may invite again.
    let (owner_again, _) = client();
    app.login_with(&owner_again, OWNER, PASSWORD).await;
    let team = app
        .get_with(
            &owner_again,
            &format!("/developer/accounts/{}/team", owner.account_id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(!team.contains("Typed Bea"));
    let res = app
        .post_form_with(
            &owner_again,
            &format!("/developer/accounts/{}/team/invite", owner.account_id),
            &[("email", BEA), ("name", "Typed Bea"), ("role", "member")],
        )
        .await;
    assert_eq!(res.status(), 303);
    app.deliver_emails().await;
}

async fn only_owners_invite_and_withdraw_and_only_in_their_own_organization(backend: Backend) {
    let app = spawn_app(backend).await;
    // A member (not an owner) of a developer account can neither invite nor withdraw.
    let owner = app.approved_developer(OWNER, "Ticketly").await;
    let invite = format!("/developer/accounts/{}/team/invite", owner.account_id);
    app.post_form_with(
        &owner.client,
        &invite,
        &[
            ("email", "carl@ticketly.example"),
            ("name", "Carl"),
            ("role", "member"),
        ],
    )
    .await;
    let carl = app
        .accept_invitation(&app.one_email_to("carl@ticketly.example").await)
        .await;
    app.login_with(&carl, "carl@ticketly.example", PASSWORD)
        .await;
    app.post_form_with(
        &owner.client,
        &invite,
        &[("email", NOBODY), ("name", "Someone"), ("role", "member")],
    )
    .await;
    app.deliver_emails().await;
    let id = invitation_id_after(&team_of(&app, &owner).await, "Someone");
    let withdraw = format!(
        "/developer/accounts/{}/team/invitations/{id}/withdraw",
        owner.account_id
    );
    assert_eq!(
        app.post_form_with(
            &carl,
            &invite,
            &[
                ("email", "x@example.test"),
                ("name", "X"),
                ("role", "member")
            ]
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        app.post_form_with(&carl, &withdraw, &[]).await.status(),
        403
    );
    // Another account's owner: not found.
    let other = app.approved_developer(BEA, "BoxOffice").await;
    assert_eq!(
        app.post_form_with(&other.client, &withdraw, &[])
            .await
            .status(),
        404
    );
    let cross = format!(
        "/developer/accounts/{}/team/invitations/{id}/withdraw",
        other.account_id
    );
    assert_eq!(
        app.post_form_with(&other.client, &cross, &[])
            .await
            .status(),
        404,
        "another account's invitation under one's own account"
    );
    assert!(
        team_of(&app, &owner).await.contains("Someone"),
        "still pending"
    );

    // Organizations: an admin of one cannot withdraw the other's invitation.
    let (a, olga) = app.org_with_admin("Acme Events", "olga@acme.example").await;
    let (b, gil) = app
        .org_with_admin("Globex Conferences", "gil@globex.example")
        .await;
    app.post_form_with(
        &olga,
        &format!("/org/{a}/admins/invite"),
        &[("email", "pat@acme.example"), ("name", "Pat")],
    )
    .await;
    app.deliver_emails().await;
    let page = app
        .get_with(&olga, &format!("/org/{a}/admins"))
        .await
        .text()
        .await
        .unwrap();
    let id = invitation_id_after(&page, "Pat");
    for path in [
        format!("/org/{b}/admins/invitations/{id}/withdraw"),
        format!("/org/{a}/admins/invitations/{id}/withdraw"),
    ] {
        assert_eq!(
            app.post_form_with(&gil, &path, &[]).await.status(),
            404,
            "{path}"
        );
    }
    // The ConCat admins' withdraw route does not reach it either.
    let admin = app.admin().await;
    assert_eq!(
        app.post_form_with(
            &admin,
            &format!("/admin/users/invitations/{id}/withdraw"),
            &[]
        )
        .await
        .status(),
        404
    );
    let page = app
        .get_with(&olga, &format!("/org/{a}/admins"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("pat@acme.example") && page.contains("invited"));
    // Olga can.
    assert_eq!(
        app.post_form_with(
            &olga,
            &format!("/org/{a}/admins/invitations/{id}/withdraw"),
            &[]
        )
        .await
        .status(),
        303
    );
}

async fn org_and_concat_admin_invitations_of_existing_users_wait_for_acceptance(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, olga) = app.org_with_admin("Acme Events", "olga@acme.example").await;
    app.create_user(BEA, "Beatrice Realname").await;
    app.post_form_with(
        &olga,
        &format!("/org/{org}/admins/invite"),
        &[("email", BEA), ("name", "Typed Bea")],
    )
    .await;
    let org_invite = app.one_email_to(BEA).await;
    let admins = app
        .get_with(&olga, &format!("/org/{org}/admins"))
        .await
        .text()
        .await
        .unwrap();
    assert!(admins.contains("Typed Bea") && !admins.contains("Beatrice Realname"));
    let (bea, _) = client();
    app.login_with(&bea, BEA, PASSWORD).await;
    assert_eq!(
        app.get_with(&bea, &format!("/org/{org}")).await.status(),
        404,
        "not an admin before accepting"
    );
    let res = app.accept_invitation_as(&bea, &org_invite).await;
    assert_eq!(res.headers()["location"], format!("/org/{org}").as_str());
    assert_eq!(
        app.get_with(&bea, &format!("/org/{org}")).await.status(),
        200
    );

    // A ConCat admin invitation of an existing user: no admin rights until accepted.
    let admin = app.admin().await;
    let res = app
        .post_form_with(
            &admin,
            "/admin/users/invite",
            &[("email", BEA), ("name", "Typed Bea")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let email = app.one_email_to(BEA).await;
    assert!(email.text.contains("a ConCat administrator"));
    assert_eq!(app.get_with(&bea, "/admin").await.status(), 403);
    let users = app
        .get_with(&admin, "/admin/users")
        .await
        .text()
        .await
        .unwrap();
    assert!(users.contains("Pending admin invitations") && users.contains("Typed Bea"));
    assert_eq!(app.accept_invitation_as(&bea, &email).await.status(), 303);
    // Now a ConCat admin, Bea sets up a second factor before the admin pages open.
    let admin_page = app.get_with(&bea, "/admin").await;
    assert_eq!(admin_page.headers()["location"], "/account/security");
    app.enroll_totp(&bea, BEA).await;
    assert_eq!(app.get_with(&bea, "/admin").await.status(), 200);
}

async fn a_concat_admin_withdraws_an_admin_invitation(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    app.post_form_with(
        &admin,
        "/admin/users/invite",
        &[("email", NOBODY), ("name", "Typed Newcomer")],
    )
    .await;
    let email = app.one_email_to(NOBODY).await;
    let users = app
        .get_with(&admin, "/admin/users")
        .await
        .text()
        .await
        .unwrap();
    let id = invitation_id_after(&users, "Pending admin invitations");
    assert_eq!(
        app.post_form_with(
            &admin,
            &format!("/admin/users/invitations/{id}/withdraw"),
            &[]
        )
        .await
        .status(),
        303
    );
    let link = path_of(&find_link(&email.text, "/set-password/"));
    assert_eq!(app.get(&link).await.status(), 410);
    assert!(app
        .audit_actions()
        .await
        .contains(&"invitation.withdrawn".to_string()));
}

both_backends!(
    inviting_an_existing_user_adds_nothing_and_reveals_nothing,
    the_right_user_accepts_and_joins,
    another_signed_in_user_cannot_accept,
    invitations_can_be_withdrawn,
    invitations_expire_after_seven_days,
    only_owners_invite_and_withdraw_and_only_in_their_own_organization,
    org_and_concat_admin_invitations_of_existing_users_wait_for_acceptance,
    a_concat_admin_withdraws_an_admin_invitation,
);
