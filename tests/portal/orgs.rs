//! Event organizations: creation with a first admin, admins, events, and object-level
//! authorization over every organization and event route.

use crate::support::*;

async fn an_admin_creates_an_organization_and_its_first_admin_signs_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let bad = app
        .post_form_with(
            &admin,
            "/admin/organizations",
            &[
                ("name", " "),
                ("admin_name", "Olga"),
                ("admin_email", "olga@"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let html = unescaped(&bad.text().await.unwrap());
    assert!(html.contains("Enter the organization's name."));
    assert!(html.contains("Enter a valid email address") && html.contains("value=\"Olga\""));

    let (org, olga) = app.org_with_admin("Acme Events", "olga@acme.example").await;
    assert!(org.starts_with("org_"));
    let res = app.get_with(&olga, "/org").await;
    assert_eq!(
        res.headers()["location"],
        format!("/org/{org}"),
        "one organization: straight to it"
    );
    let dash = app
        .get_with(&olga, &format!("/org/{org}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(dash.contains("Acme Events") && dash.contains(&org));
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"organization.created".to_string())
            && actions.contains(&"invitation.invited".to_string())
            && actions.contains(&"invitation.accepted".to_string())
    );
}

async fn events_are_validated_and_kept_in_their_time_zone(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, olga) = app.org_with_admin("Acme Events", "olga@acme.example").await;
    let new = format!("/org/{org}/events/new");
    let base = [
        ("name", "Summer Fair"),
        ("time_zone", "Europe/Berlin"),
        ("starts", "2027-06-01T18:30"),
        ("ends", "2027-06-01T23:00"),
        ("venue", "Tempelhof"),
        ("status", "draft"),
    ];
    let with = |k: &'static str, v: &'static str| {
        base.iter()
            .map(|(a, b)| if *a == k { (*a, v) } else { (*a, *b) })
            .collect::<Vec<_>>()
    };
    for (field, value, message) in [
        (
            "ends",
            "2027-06-01T17:00",
            "The event must end after it starts.",
        ),
        ("time_zone", "Mars/Olympus", "is not a time zone we know"),
        (
            "starts",
            "next tuesday",
            "Enter the start as a date and time",
        ),
        ("name", "", "Enter the event's name."),
        ("status", "secret", "Choose draft, published or cancelled."),
    ] {
        let res = app.post_form_with(&olga, &new, &with(field, value)).await;
        assert_eq!(res.status(), 422, "{field}");
        let html = unescaped(&res.text().await.unwrap());
        assert!(html.contains(message), "{field}: {message}");
        assert!(html.contains("Tempelhof"), "{field}: input kept");
    }
    assert_eq!(app.post_form_with(&olga, &new, &base).await.status(), 303);
    let list = app
        .get_with(&olga, &format!("/org/{org}/events"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("Summer Fair")
            && list.contains("2027-06-01 18:30 CEST")
            && list.contains("evt_")
    );
    let evt = list[list.find("evt_").unwrap()..][..20].to_string();

    let edit = format!("/org/{org}/events/{evt}/edit");
    let form = app.get_with(&olga, &edit).await.text().await.unwrap();
    assert!(
        form.contains("value=\"2027-06-01T18:30\"") && form.contains("value=\"Europe/Berlin\"")
    );
    let changed = [
        ("name", "Summer Fair"),
        ("time_zone", "America/New_York"),
        ("starts", "2027-06-01T18:30"),
        ("ends", "2027-06-02T01:00"),
        ("venue", "Pier 17"),
        ("status", "published"),
    ];
    assert_eq!(
        app.post_form_with(&olga, &edit, &changed).await.status(),
        303
    );
    let list = app
        .get_with(&olga, &format!("/org/{org}/events"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("2027-06-01 18:30 EDT")
            && list.contains("badge-published")
            && list.contains("Pier 17")
    );
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"event.created".to_string())
            && actions.contains(&"event.updated".to_string())
    );
}

async fn org_admins_invite_and_remove_admins_but_never_the_last(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, olga) = app.org_with_admin("Acme Events", "olga@acme.example").await;
    let olga_id = app.user_id("olga@acme.example").await;
    let remove_olga = format!("/org/{org}/admins/{olga_id}/remove");
    assert_eq!(
        app.post_form_with(&olga, &remove_olga, &[]).await.status(),
        303
    );
    assert!(app
        .get_with(&olga, &format!("/org/{org}/admins"))
        .await
        .text()
        .await
        .unwrap()
        .contains("needs at least one admin"));

    let invite = format!("/org/{org}/admins/invite");
    assert_eq!(
        app.post_form_with(
            &olga,
            &invite,
            &[("email", "pat@acme.example"), ("name", "Pat")]
        )
        .await
        .status(),
        303
    );
    let pats = app.one_email_to("pat@acme.example").await;
    assert!(pats.text.contains("/set-password/"));
    let pending = app
        .post_form_with(
            &olga,
            &invite,
            &[("email", "PAT@acme.example"), ("name", "Pat")],
        )
        .await;
    assert!(pending.text().await.unwrap().contains("already pending"));
    app.accept_invitation(&pats).await;
    let dup = app
        .post_form_with(
            &olga,
            &invite,
            &[("email", "PAT@acme.example"), ("name", "Pat")],
        )
        .await;
    assert!(dup.text().await.unwrap().contains("already an admin"));
    // Someone who administers another organization too sees both, once they accept.
    let (other, _) = app
        .org_with_admin("Globex Conferences", "gil@globex.example")
        .await;
    let add = app
        .post_form_with(
            &olga,
            &invite,
            &[("email", "gil@globex.example"), ("name", "Gil")],
        )
        .await;
    assert_eq!(add.status(), 303);
    let gils = app.one_email_to("gil@globex.example").await;
    assert_eq!(gils.kind, "invitation");
    let (gil, _) = client();
    app.login_with(&gil, "gil@globex.example", PASSWORD).await;
    assert_eq!(app.accept_invitation_as(&gil, &gils).await.status(), 303);
    let choose = app.get_with(&gil, "/org").await.text().await.unwrap();
    assert!(choose.contains(&org) && choose.contains(&other));

    // Now Olga may leave.
    assert_eq!(
        app.post_form_with(&olga, &remove_olga, &[]).await.headers()["location"],
        "/org"
    );
    assert_eq!(
        app.get_with(&olga, &format!("/org/{org}")).await.status(),
        404,
        "no longer an admin"
    );
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"organization.admin_removed".to_string()));
}

async fn no_one_reaches_another_organizations_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, alice) = app.org_with_admin("Acme Events", "olga@acme.example").await;
    let (b, bob) = app
        .org_with_admin("Globex Conferences", "gil@globex.example")
        .await;
    let ev = [
        ("name", "Expo"),
        ("time_zone", "UTC"),
        ("starts", "2027-01-01T10:00"),
        ("ends", "2027-01-01T12:00"),
        ("venue", ""),
        ("status", "draft"),
    ];
    app.post_form_with(&bob, &format!("/org/{b}/events/new"), &ev)
        .await;
    let list = app
        .get_with(&bob, &format!("/org/{b}/events"))
        .await
        .text()
        .await
        .unwrap();
    let b_evt = list[list.find("evt_").unwrap()..][..20].to_string();
    let gil = app.user_id("gil@globex.example").await;
    app.post_form_with(&alice, &format!("/org/{a}/events/new"), &ev)
        .await;

    let gets = vec![
        format!("/org/{b}"),
        format!("/org/{b}/admins"),
        format!("/org/{b}/events"),
        format!("/org/{b}/events/new"),
        format!("/org/{b}/events/{b_evt}/edit"),
        // B's event through A's organization path.
        format!("/org/{a}/events/{b_evt}/edit"),
    ];
    let forged = [
        ("name", "Forged"),
        ("time_zone", "UTC"),
        ("starts", "2027-01-01T10:00"),
        ("ends", "2027-01-01T12:00"),
        ("venue", ""),
        ("status", "cancelled"),
    ];
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/org/{b}/admins/invite"),
            vec![("email", "mallory@evil.test"), ("name", "M")],
        ),
        (format!("/org/{b}/admins/{gil}/remove"), vec![]),
        (format!("/org/{b}/events/new"), forged.to_vec()),
        (format!("/org/{b}/events/{b_evt}/edit"), forged.to_vec()),
        (format!("/org/{a}/events/{b_evt}/edit"), forged.to_vec()),
    ];
    let dev = app
        .approved_developer("dana@ticketly.example", "Ticketly")
        .await;
    let (anon, _) = client();
    for path in &gets {
        assert_eq!(
            app.get_with(&alice, path).await.status(),
            404,
            "org A admin GET {path}"
        );
        assert_eq!(
            app.get_with(&dev.client, path).await.status(),
            404,
            "developer GET {path}"
        );
        assert_eq!(
            app.get_with(&anon, path).await.status(),
            303,
            "anonymous GET {path}"
        );
    }
    for (path, fields) in &posts {
        assert_eq!(
            app.post_form_with(&alice, path, fields).await.status(),
            404,
            "org A admin POST {path}"
        );
        assert_eq!(
            app.post_form_with(&dev.client, path, fields).await.status(),
            404,
            "developer POST {path}"
        );
        let res = app.post_form_with(&anon, path, fields).await;
        assert_eq!(res.status(), 303, "anonymous POST {path}");
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"));
    }
    // Nothing changed in B.
    let admins = app
        .get_with(&bob, &format!("/org/{b}/admins"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!admins.contains("mallory@evil.test") && admins.contains("gil@globex.example"));
    let list = app
        .get_with(&bob, &format!("/org/{b}/events"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        list.matches("/edit\"").count(),
        1,
        "one event (one edit link)"
    );
    assert!(
        !list.contains("Forged") && list.contains("badge-draft"),
        "B's event unchanged"
    );
    assert!(app.deliver_emails().await.is_empty());
}

both_backends!(
    an_admin_creates_an_organization_and_its_first_admin_signs_in,
    events_are_validated_and_kept_in_their_time_zone,
    org_admins_invite_and_remove_admins_but_never_the_last,
    no_one_reaches_another_organizations_pages,
);
