//! Organizations authorize integrations by API ID, change scopes, revoke them (the 30-day
//! deletion duty begins), and see the developer's attestation; ConCat support can act for them.

use chrono::Duration;
use concat_portal::clock::Clock;

use crate::support::*;

async fn authorizing_by_api_id_emails_the_organizations_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app
        .approved_developer("dana@ticketly.example", "Ticketly")
        .await;
    let (org_id, olga) = app.org_with_admin("Acme Events", "olga@acme.example").await;
    let page = format!("/org/{org_id}/integrations");

    for (api_id, message) in [
        ("not-an-id", "An API ID looks like cc_id_"),
        (
            "cc_id_AAAAAAAAAAAAAAAAAAAAAAAA",
            "No integration has that API ID",
        ),
    ] {
        let res = app
            .get_with(&olga, &format!("{page}?api_id={api_id}"))
            .await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains(message), "{api_id}");
    }
    let preview = app
        .get_with(&olga, &format!("{page}?api_id={}", dev.api_id))
        .await
        .text()
        .await
        .unwrap();
    for shown in [
        "Authorize Ticketly App?",
        "Ticketly",
        "https://ticketly.example/",
        "box-office",
    ] {
        assert!(preview.contains(shown), "preview shows {shown}");
    }
    assert!(
        preview.contains("name=\"events_read\" checked")
            && !preview.contains("name=\"events_write\" checked"),
        "least privilege"
    );

    let none = app
        .post_form_with(
            &olga,
            &format!("{page}/authorize"),
            &[("api_id", &dev.api_id)],
        )
        .await;
    assert_eq!(none.status(), 422);
    assert!(none
        .text()
        .await
        .unwrap()
        .contains("Choose at least one scope."));
    let res = app
        .post_form_with(
            &olga,
            &format!("{page}/authorize"),
            &[("api_id", &dev.api_id), ("events_read", "on")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let email = app.one_email_to("dana@ticketly.example").await;
    assert!(email
        .subject
        .contains("Acme Events authorized Ticketly App"));
    assert!(
        email.text.contains(&org_id)
            && email.text.contains("events:read")
            && !email.text.contains("ConCat support")
    );

    let dash = app
        .get_with(&dev.client, "/developer")
        .await
        .text()
        .await
        .unwrap();
    assert!(dash.contains("Acme Events") && dash.contains(&org_id) && dash.contains("events:read"));
    let again = app
        .post_form_with(
            &olga,
            &format!("{page}/authorize"),
            &[("api_id", &dev.api_id), ("events_read", "on")],
        )
        .await;
    assert_eq!(again.status(), 409);
    assert!(again.text().await.unwrap().contains("already authorized"));

    // Scope change, audited; removing every scope is refused.
    let listing = app.get_with(&olga, &page).await.text().await.unwrap();
    let auth_id = first_authorization_id(&listing);
    app.post_form_with(
        &olga,
        &format!("{page}/{auth_id}/scopes"),
        &[("events_read", "on"), ("events_write", "on")],
    )
    .await;
    assert!(app
        .get_with(&olga, &page)
        .await
        .text()
        .await
        .unwrap()
        .contains("events:read events:write"));
    app.post_form_with(&olga, &format!("{page}/{auth_id}/scopes"), &[])
        .await;
    assert!(app
        .get_with(&olga, &page)
        .await
        .text()
        .await
        .unwrap()
        .contains("Choose at least one scope."));
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"authorization.granted".to_string())
            && actions.contains(&"authorization.scopes_changed".to_string())
    );
}

async fn revoking_starts_the_deletion_duty_and_attestation_closes_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app
        .approved_developer("dana@ticketly.example", "Ticketly")
        .await;
    let (org_id, olga) = app.org_with_admin("Acme Events", "olga@acme.example").await;
    let page = format!("/org/{org_id}/integrations");
    app.post_form_with(
        &olga,
        &format!("{page}/authorize"),
        &[("api_id", &dev.api_id), ("events_read", "on")],
    )
    .await;
    app.one_email_to("dana@ticketly.example").await;
    let listing = app.get_with(&olga, &page).await.text().await.unwrap();
    let auth_id = first_authorization_id(&listing);

    let revoked_at = app.clock.now();
    assert_eq!(
        app.post_form_with(&olga, &format!("{page}/{auth_id}/revoke"), &[])
            .await
            .status(),
        303
    );
    let email = app.one_email_to("dana@ticketly.example").await;
    let deadline = (revoked_at + Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        email
            .subject
            .contains(&format!("delete its data by {deadline}")),
        "{}",
        email.subject
    );
    assert!(
        email.text.contains(&deadline)
            && email.text.contains("Acme Events")
            && email.text.contains(&org_id)
    );
    assert!(email
        .text
        .contains(&revoked_at.format("%Y-%m-%d %H:%M UTC").to_string()));

    let listing = app.get_with(&olga, &page).await.text().await.unwrap();
    assert!(listing.contains("badge-duty-pending") && listing.contains(&deadline));
    let detail = app
        .get_with(
            &dev.client,
            &format!("/developer/integrations/{}", dev.integration_id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(detail.contains("Data to delete") && detail.contains(&deadline));
    let dash = app
        .get_with(&dev.client, "/developer")
        .await
        .text()
        .await
        .unwrap();
    assert!(dash.contains(&format!("by {deadline}")));

    let confirm = format!(
        "/developer/integrations/{}/duties/{auth_id}/confirm",
        dev.integration_id
    );
    assert_eq!(
        app.post_form_with(
            &dev.client,
            &confirm,
            &[("note", "Purged from our warehouse")]
        )
        .await
        .status(),
        303
    );
    let listing = app.get_with(&olga, &page).await.text().await.unwrap();
    assert!(
        listing.contains("badge-duty-confirmed") && listing.contains("Purged from our warehouse")
    );
    assert!(!app
        .get_with(
            &dev.client,
            &format!("/developer/integrations/{}", dev.integration_id)
        )
        .await
        .text()
        .await
        .unwrap()
        .contains("Data to delete"));
    assert!(
        listing.contains("confirmed by Dana Developer"),
        "who confirmed"
    );
    let twice = app
        .post_form_with(&dev.client, &confirm, &[("note", "overwritten?")])
        .await;
    assert_eq!(twice.status(), 303);
    let detail = app
        .get_with(
            &dev.client,
            &format!("/developer/integrations/{}", dev.integration_id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(detail.contains("There is no open deletion duty"));
    let listing = app.get_with(&olga, &page).await.text().await.unwrap();
    assert!(
        listing.contains("Purged from our warehouse") && !listing.contains("overwritten?"),
        "the first attestation stands"
    );

    // Re-authorizing makes a new authorization; the old duty stays on record.
    app.post_form_with(
        &olga,
        &format!("{page}/authorize"),
        &[("api_id", &dev.api_id), ("events_read", "on")],
    )
    .await;
    app.one_email_to("dana@ticketly.example").await;
    let listing = app.get_with(&olga, &page).await.text().await.unwrap();
    assert!(listing.contains("badge-active") && listing.contains("badge-duty-confirmed"));
    // A second revocation left alone for 30 days becomes overdue.
    let listing_now = app.get_with(&olga, &page).await.text().await.unwrap();
    let second = first_authorization_id(&listing_now);
    app.post_form_with(&olga, &format!("{page}/{second}/revoke"), &[])
        .await;
    app.one_email_to("dana@ticketly.example").await;
    // Due exactly 30 days after the revocation: pending until then, overdue after it.
    app.clock.advance(Duration::days(30) - Duration::minutes(1));
    app.login_with(&olga, "olga@acme.example", PASSWORD).await;
    let on_the_day = app.get_with(&olga, &page).await.text().await.unwrap();
    assert!(
        on_the_day.contains("badge-duty-pending"),
        "the deadline has not passed"
    );
    app.clock.advance(Duration::minutes(2));
    app.login_with(&olga, "olga@acme.example", PASSWORD).await;
    let late = app.get_with(&olga, &page).await.text().await.unwrap();
    assert!(late.contains("badge-duty-overdue"), "{late}");
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"authorization.revoked".to_string())
            && actions.contains(&"deletion.confirmed".to_string())
    );
}

async fn concat_support_acts_for_an_organization(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app
        .approved_developer("dana@ticketly.example", "Ticketly")
        .await;
    let (org_id, _olga) = app.org_with_admin("Acme Events", "olga@acme.example").await;
    let admin = app.admin().await;
    let page = format!("/org/{org_id}/integrations");
    let html = app.get_with(&admin, &page).await.text().await.unwrap();
    assert!(html.contains("acting as ConCat support"));
    assert_eq!(
        app.post_form_with(
            &admin,
            &format!("{page}/authorize"),
            &[("api_id", &dev.api_id), ("events_read", "on")]
        )
        .await
        .status(),
        303
    );
    let email = app.one_email_to("dana@ticketly.example").await;
    assert!(email
        .text
        .contains("done by ConCat support at the organization's request"));
    let listing = app.get_with(&admin, &page).await.text().await.unwrap();
    assert!(listing.contains("by Ada (ConCat support)"));
    let auth_id = first_authorization_id(&listing);
    app.post_form_with(&admin, &format!("{page}/{auth_id}/revoke"), &[])
        .await;
    assert!(app
        .one_email_to("dana@ticketly.example")
        .await
        .text
        .contains("done by ConCat support"));
    // Audited as support, and support does not open the organization's other pages.
    use concat_portal::db::{self, models::audit};
    let rows = db::run(&app.pool, |c| Ok(audit::recent(c, 100)?))
        .await
        .unwrap();
    let granted = rows
        .iter()
        .find(|r| r.action == "authorization.granted")
        .unwrap();
    assert!(granted.details.contains("\"via\":\"support\"") && granted.actor_label == ADMIN_EMAIL);
    assert_eq!(
        app.get_with(&admin, &format!("/org/{org_id}/events"))
            .await
            .status(),
        404
    );
}

async fn authorizations_are_reachable_only_by_their_organization_and_developer(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app
        .approved_developer("dana@ticketly.example", "Ticketly")
        .await;
    let other_dev = app
        .approved_developer("bea@boxoffice.example", "BoxOffice")
        .await;
    let (a, _alice) = app.org_with_admin("Acme Events", "olga@acme.example").await;
    let (b, bob) = app
        .org_with_admin("Globex Conferences", "gil@globex.example")
        .await;
    let page = format!("/org/{b}/integrations");
    app.post_form_with(
        &bob,
        &format!("{page}/authorize"),
        &[("api_id", &dev.api_id), ("events_read", "on")],
    )
    .await;
    app.one_email_to("dana@ticketly.example").await;
    let listing = app.get_with(&bob, &page).await.text().await.unwrap();
    let auth_id = first_authorization_id(&listing);

    let (alice, _) = client();
    app.login_with(&alice, "olga@acme.example", PASSWORD).await;
    let (anon, _) = client();
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("{page}/authorize"),
            vec![("api_id", &other_dev.api_id), ("events_read", "on")],
        ),
        (
            format!("{page}/{auth_id}/scopes"),
            vec![("events_read", "on")],
        ),
        (format!("{page}/{auth_id}/revoke"), vec![]),
        (format!("/org/{a}/integrations/{auth_id}/revoke"), vec![]),
    ];
    // The authorization is active, so a missing check would change its scopes or revoke it.
    let confirm = format!("{page}/{auth_id}/revoke");
    for client in [&alice, &other_dev.client, &dev.client] {
        for get in [&page, &confirm] {
            assert_eq!(app.get_with(client, get).await.status(), 404, "GET {get}");
        }
        for (path, fields) in &posts {
            assert_eq!(
                app.post_form_with(client, path, fields).await.status(),
                404,
                "POST {path}"
            );
        }
    }
    assert_eq!(app.get_with(&anon, &page).await.status(), 303);
    for (path, fields) in &posts {
        assert_eq!(
            app.post_form_with(&anon, path, fields).await.status(),
            303,
            "anonymous POST {path}"
        );
    }
    let listing = app.get_with(&bob, &page).await.text().await.unwrap();
    assert!(
        listing.contains("badge-active") && listing.contains(">events:read<"),
        "still active, scopes unchanged"
    );
    assert!(
        !listing.contains(&other_dev.api_id),
        "nothing authorized by others"
    );
    app.post_form_with(&bob, &format!("{page}/{auth_id}/revoke"), &[])
        .await;
    app.one_email_to("dana@ticketly.example").await;
    // Another developer account cannot confirm this duty.
    let confirm = format!(
        "/developer/integrations/{}/duties/{auth_id}/confirm",
        dev.integration_id
    );
    assert_eq!(
        app.post_form_with(&other_dev.client, &confirm, &[])
            .await
            .status(),
        404
    );
    assert!(app
        .get_with(&bob, &page)
        .await
        .text()
        .await
        .unwrap()
        .contains("badge-duty-pending"));
    assert!(app.deliver_emails().await.is_empty());
}

both_backends!(
    authorizing_by_api_id_emails_the_organizations_id,
    revoking_starts_the_deletion_duty_and_attestation_closes_it,
    concat_support_acts_for_an_organization,
    authorizations_are_reachable_only_by_their_organization_and_developer,
);
