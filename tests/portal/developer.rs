//! Developer accounts: who may see and act on which integration, teams, more integrations.

use crate::support::*;

async fn admin_request_routes_refuse_anonymous_and_developers(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app
        .approved_developer("dana@ticketly.example", "Ticketly")
        .await;
    app.request_access_with(&app.client, "eve@example.test", &[])
        .await;
    app.deliver_emails().await;
    let id = app.request_id_for("eve@example.test").await;
    let gets = [
        "/admin/requests".to_string(),
        format!("/admin/requests/{id}"),
    ];
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/admin/requests/{id}/approve"), vec![]),
        (
            format!("/admin/requests/{id}/reject"),
            vec![("reason", "no")],
        ),
        (
            format!("/admin/requests/{id}/ask"),
            vec![("question", "why?")],
        ),
    ];
    let (anon, _) = client();
    for path in &gets {
        let res = app.get_with(&anon, path).await;
        assert_eq!(res.status(), 303, "anonymous GET {path}");
        assert_eq!(
            app.get_with(&dev.client, path).await.status(),
            403,
            "developer GET {path}"
        );
    }
    for (path, fields) in &posts {
        let res = app.post_form_with(&anon, path, fields).await;
        assert_eq!(res.status(), 303, "anonymous POST {path}");
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"));
        assert_eq!(
            app.post_form_with(&dev.client, path, fields).await.status(),
            403,
            "developer POST {path}"
        );
    }
    let admin = app.admin().await;
    let page = app
        .get_with(&admin, &format!("/admin/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("badge-pending"), "nothing was decided");
    assert!(app.deliver_emails().await.is_empty());
}

async fn one_developer_account_cannot_see_or_touch_another(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app
        .approved_developer("dana@ticketly.example", "Ticketly")
        .await;
    let b = app
        .approved_developer("bea@boxoffice.example", "BoxOffice")
        .await;
    let b_secret_id = {
        use concat_portal::clock::Clock;
        use concat_portal::db::{self, models::api_secrets};
        let (iid, now) = (b.integration_id.clone(), app.clock.now_naive());
        db::run(&app.pool, move |c| Ok(api_secrets::active(c, &iid, now)?))
            .await
            .unwrap()[0]
            .id
            .clone()
    };
    let i = &b.integration_id;
    let acct = &b.account_id;
    let gets = [
        format!("/developer/integrations/{i}"),
        format!("/developer/integrations/{i}/secrets/{b_secret_id}/revoke"),
        format!("/developer/accounts/{acct}/team"),
        format!("/developer/accounts/{acct}/integrations/new"),
    ];
    for path in &gets {
        assert_eq!(
            app.get_with(&a.client, path).await.status(),
            404,
            "GET {path}"
        );
        assert_eq!(
            app.get_with(&b.client, path).await.status(),
            200,
            "the owner sees {path}"
        );
    }
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/developer/integrations/{i}/secrets"), vec![]),
        (
            format!("/developer/integrations/{i}/secrets/roll"),
            vec![("old_expires", "now")],
        ),
        (
            format!("/developer/integrations/{i}/secrets/{b_secret_id}/revoke"),
            vec![],
        ),
        (
            format!("/developer/accounts/{acct}/team/invite"),
            vec![
                ("email", "mallory@evil.test"),
                ("name", "M"),
                ("role", "owner"),
            ],
        ),
        (
            format!("/developer/accounts/{acct}/integrations/new"),
            vec![("app_name", "X"), ("use_case", "Y")],
        ),
    ];
    for (path, fields) in &posts {
        assert_eq!(
            app.post_form_with(&a.client, path, fields).await.status(),
            404,
            "POST {path}"
        );
    }
    // A's own secret cannot be revoked through B's integration, by A or by B.
    let a_secret_id = {
        use concat_portal::clock::Clock;
        use concat_portal::db::{self, models::api_secrets};
        let (iid, now) = (a.integration_id.clone(), app.clock.now_naive());
        db::run(&app.pool, move |c| Ok(api_secrets::active(c, &iid, now)?))
            .await
            .unwrap()[0]
            .id
            .clone()
    };
    let cross = format!("/developer/integrations/{i}/secrets/{a_secret_id}/revoke");
    assert_eq!(
        app.post_form_with(&a.client, &cross, &[]).await.status(),
        404
    );
    assert_eq!(
        app.post_form_with(&b.client, &cross, &[]).await.status(),
        404
    );
    assert!(
        app.credentials_valid(&a.api_id, &a.secret).await,
        "A's secret still works"
    );
    let a_dash = app
        .get_with(&a.client, "/developer")
        .await
        .text()
        .await
        .unwrap();
    assert!(a_dash.contains(&a.api_id) && !a_dash.contains(&b.api_id));
    assert!(
        app.credentials_valid(&b.api_id, &b.secret).await,
        "B's secret still works"
    );
    let team = app
        .get_with(&b.client, &format!("/developer/accounts/{acct}/team"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!team.contains("mallory@evil.test"));
    assert!(app.deliver_emails().await.is_empty());
}

async fn members_see_integrations_and_only_owners_manage_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app
        .approved_developer("dana@ticketly.example", "Ticketly")
        .await;
    let team = format!("/developer/accounts/{}/team/invite", owner.account_id);

    let bad = app
        .post_form_with(
            &owner.client,
            &team,
            &[("email", "carl@"), ("name", "Carl"), ("role", "member")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("value=\"Carl\""));
    let res = app
        .post_form_with(
            &owner.client,
            &team,
            &[
                ("email", "carl@ticketly.example"),
                ("name", "Carl"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let invite = app.one_email_to("carl@ticketly.example").await;
    assert!(invite
        .text
        .contains("a member of Ticketly's developer account"));
    let carl = app.accept_invitation(&invite).await;
    assert_eq!(
        app.login_with(&carl, "carl@ticketly.example", PASSWORD)
            .await
            .headers()["location"],
        "/developer"
    );
    let dash = app
        .get_with(&carl, "/developer")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        dash.contains(&owner.api_id),
        "members see the account's integrations"
    );
    assert!(!dash.contains(&owner.secret));

    let i = &owner.integration_id;
    for (path, fields) in [
        (
            format!("/developer/integrations/{i}/secrets/roll"),
            vec![("old_expires", "now")],
        ),
        (format!("/developer/integrations/{i}/secrets"), vec![]),
        (
            team.clone(),
            vec![
                ("email", "x@example.test"),
                ("name", "X"),
                ("role", "owner"),
            ],
        ),
        (
            format!("/developer/accounts/{}/integrations/new", owner.account_id),
            vec![("app_name", "X"), ("use_case", "Y")],
        ),
    ] {
        assert_eq!(
            app.post_form_with(&carl, &path, &fields).await.status(),
            403,
            "member POST {path}"
        );
    }
    assert!(app.credentials_valid(&owner.api_id, &owner.secret).await);
    let page = app
        .get_with(&carl, &format!("/developer/integrations/{i}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Only the owners of this developer account"));

    // An existing user added as owner can manage secrets.
    let other = app
        .approved_developer("bea@boxoffice.example", "BoxOffice")
        .await;
    let res = app
        .post_form_with(
            &owner.client,
            &team,
            &[
                ("email", "bea@boxoffice.example"),
                ("name", "Bea"),
                ("role", "owner"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    // Invited, not added: Bea accepts from the email, signed in as herself.
    let invited = app.one_email_to("bea@boxoffice.example").await;
    assert!(invited.subject.contains("You have been invited"));
    let dup = |email: &'static str| {
        let (app, client, team) = (&app, owner.client.clone(), team.clone());
        async move {
            app.post_form_with(
                &client,
                &team,
                &[("email", email), ("name", "Bea"), ("role", "owner")],
            )
            .await
            .text()
            .await
            .unwrap()
        }
    };
    assert!(dup("BEA@boxoffice.example")
        .await
        .contains("already pending"));
    assert_eq!(
        app.accept_invitation_as(&other.client, &invited)
            .await
            .status(),
        303
    );
    let dup = dup("BEA@boxoffice.example").await;
    assert!(dup.contains("already a member"));
    let roll = app
        .post_form_with(
            &other.client,
            &format!("/developer/integrations/{i}/secrets/roll"),
            &[("old_expires", "1h")],
        )
        .await;
    assert_eq!(roll.status(), 200);
    assert!(secret_in(&roll.text().await.unwrap()).is_some());
    assert!(app
        .audit_actions()
        .await
        .contains(&"invitation.accepted".to_string()));
}

async fn another_integration_goes_through_the_queue(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app
        .approved_developer("dana@ticketly.example", "Ticketly")
        .await;
    let path = format!("/developer/accounts/{}/integrations/new", dev.account_id);
    let bad = app
        .post_form_with(
            &dev.client,
            &path,
            &[("app_name", ""), ("use_case", "Reports for organizers")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(
        html.contains("Enter a name for your application.")
            && html.contains("Reports for organizers")
    );
    let res = app
        .post_form_with(
            &dev.client,
            &path,
            &[
                ("app_name", "Ticketly Reports"),
                ("use_case", "Reports for organizers"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let notice = app.one_email_to(ADMIN_EMAIL).await;
    assert!(notice.subject.contains("Ticketly Reports"));

    let admin = app.admin().await;
    let id = app.request_id_for("dana@ticketly.example").await;
    let detail = app
        .get_with(&admin, &format!("/admin/requests/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(detail.contains("Another integration for an existing account"));
    assert_eq!(
        app.post_form_with(&admin, &format!("/admin/requests/{id}/approve"), &[])
            .await
            .status(),
        303
    );
    let approved = app.one_email_to("dana@ticketly.example").await;
    assert_eq!(approved.kind, "integration_approved");
    let link = path_of(&find_link(&approved.text, "/developer/integrations/"));

    let dash = app
        .get_with(&dev.client, "/developer")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        dash.matches("API ID <code>cc_id_").count(),
        2,
        "two integrations, each with its own API ID"
    );
    let create = app
        .post_form_with(&dev.client, &format!("{link}/secrets"), &[])
        .await;
    assert_eq!(create.status(), 200);
    let secret = secret_in(&create.text().await.unwrap()).unwrap();
    let page = app.get_with(&dev.client, &link).await.text().await.unwrap();
    let api_id = api_id_in(&page);
    assert_ne!(api_id, dev.api_id);
    assert!(app.credentials_valid(&api_id, &secret).await);
    assert!(
        !app.credentials_valid(&dev.api_id, &secret).await,
        "a secret belongs to one integration"
    );
}

both_backends!(
    admin_request_routes_refuse_anonymous_and_developers,
    one_developer_account_cannot_see_or_touch_another,
    members_see_integrations_and_only_owners_manage_them,
    another_integration_goes_through_the_queue,
);
