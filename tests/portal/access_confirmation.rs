//! A new access request is confirmed from the link in its "we received your request" email
//! before it enters the queue, notifies admins or blocks its email address (issue 12, item 8).

use chrono::Duration;

use crate::support::*;

const VICTIM: &str = "victim@example.com";

async fn requests_in_queue(app: &TestApp, admin: &reqwest::Client) -> String {
    app.get_with(admin, "/admin/requests?status=all")
        .await
        .text()
        .await
        .unwrap()
}

async fn a_strangers_unconfirmed_request_does_not_block_the_victim(backend: Backend) {
    let app = spawn_app(backend).await;
    let (stranger, _) = client();
    let res = app
        .submit_access_request(&stranger, VICTIM, &[("app_name", "Stranger App")])
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("Check your inbox") && page.contains("48 hours"));

    // The victim files their own request: accepted, with its own link, and confirmable.
    let (victim, _) = client();
    let res = app.submit_access_request(&victim, VICTIM, &[]).await;
    assert_eq!(res.status(), 200, "an unconfirmed request blocks nobody");
    let emails = app.deliver_emails().await;
    assert_eq!(emails.len(), 2);
    let links: Vec<String> = emails
        .iter()
        .map(|e| {
            assert_eq!(e.to, VICTIM);
            assert!(e.text.contains("expires in 48 hours"));
            path_of(&find_link(&e.text, "/access-requests/confirm/"))
        })
        .collect();
    assert_ne!(links[0], links[1]);
    let victims = links
        .iter()
        .find(|l| {
            emails
                .iter()
                .any(|e| e.text.contains(l.as_str()) && e.text.contains("Ticketly Sync"))
        })
        .expect("the victim's link")
        .clone();
    let res = app.confirm_access_request(&victim, &victims).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Request confirmed"));

    // Now that a confirmed request is open, the stranger's link answers clearly and changes
    // nothing, and a further submission for that email is refused as before.
    let strangers = links.iter().find(|l| **l != victims).unwrap().clone();
    let res = app.confirm_access_request(&stranger, &strangers).await;
    assert_eq!(res.status(), 409);
    assert!(
        unescaped(&res.text().await.unwrap()).contains("already a confirmed request under review")
    );
    let res = app.submit_access_request(&stranger, VICTIM, &[]).await;
    assert_eq!(res.status(), 409);
    // The audit log has the victim's confirmation only.
    let actions = app.audit_actions().await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "access_request.confirmed")
            .count(),
        1
    );
}

async fn unconfirmed_requests_are_invisible_to_admins_and_notify_nobody(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let (dev, _) = client();
    let res = app
        .submit_access_request(&dev, VICTIM, &[("app_name", "Hidden App")])
        .await;
    assert_eq!(res.status(), 200);
    // Only the requester is emailed; no admin notice.
    let emails = app.deliver_emails().await;
    assert_eq!(
        emails.iter().map(|e| e.to.as_str()).collect::<Vec<_>>(),
        [VICTIM]
    );
    assert_eq!(emails[0].kind, "access_request_received");
    // Not in the queue under any filter, not on the dashboard, not by its id.
    for path in [
        "/admin/requests",
        "/admin/requests?status=all",
        "/admin/requests?status=pending",
    ] {
        let page = app.get_with(&admin, path).await.text().await.unwrap();
        assert!(!page.contains("Hidden App"), "{path}");
    }
    let id = app.request_id_for(VICTIM).await;
    assert_eq!(
        app.get_with(&admin, &format!("/admin/requests/{id}"))
            .await
            .status(),
        404
    );
    // Nor can it be decided by a crafted POST.
    assert_eq!(
        app.post_form_with(&admin, &format!("/admin/requests/{id}/approve"), &[])
            .await
            .status(),
        404
    );

    // Confirming puts it in the queue and notifies every admin.
    let link = path_of(&find_link(&emails[0].text, "/access-requests/confirm/"));
    // Opening the link changes nothing: confirming is the button's POST.
    assert_eq!(app.get_with(&dev, &link).await.status(), 200);
    assert!(app.deliver_emails().await.is_empty());
    assert!(!requests_in_queue(&app, &admin).await.contains("Hidden App"));
    let res = app.post_form_with(&dev, &link, &[]).await;
    assert_eq!(res.status(), 200);
    let notice = app.one_email_to(ADMIN_EMAIL).await;
    assert!(notice.subject.contains("New access request: Hidden App"));
    assert!(requests_in_queue(&app, &admin).await.contains("Hidden App"));
    assert_eq!(
        app.get_with(&admin, &format!("/admin/requests/{id}"))
            .await
            .status(),
        200
    );
}

async fn the_confirmation_link_expires_after_48_hours(backend: Backend) {
    let app = spawn_app(backend).await;
    app.admin().await;
    let (dev, _) = client();
    assert_eq!(
        app.submit_access_request(&dev, VICTIM, &[("app_name", "Late App")])
            .await
            .status(),
        200
    );
    let link = app.confirmation_link(VICTIM).await;
    app.deliver_emails().await;
    app.clock.advance(Duration::hours(47));
    assert_eq!(app.get_with(&dev, &link).await.status(), 200, "still valid");
    app.clock.advance(Duration::hours(1) + Duration::seconds(1));
    let page = app.get_with(&dev, &link).await;
    assert_eq!(page.status(), 410);
    let html = page.text().await.unwrap();
    assert!(html.contains("expired") && html.contains("/request-access"));
    let res = app.post_form_with(&dev, &link, &[]).await;
    assert_eq!(res.status(), 410);
    assert!(app.deliver_emails().await.is_empty(), "no admin notice");
    // (Two days later the admin's session has ended: sign in again.)
    let admin = app.admin().await;
    assert!(!requests_in_queue(&app, &admin).await.contains("Late App"));
    // The email can request again, and that one can be confirmed.
    let res = app.request_access_with(&dev, VICTIM, &[]).await;
    assert_eq!(res.status(), 200);
    assert!(requests_in_queue(&app, &admin)
        .await
        .contains("Ticketly Sync"));
    app.deliver_emails().await;
}

async fn the_confirmation_link_works_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let _admin = app.admin().await;
    let (dev, _) = client();
    assert_eq!(
        app.submit_access_request(&dev, VICTIM, &[]).await.status(),
        200
    );
    let link = app.confirmation_link(VICTIM).await;
    assert_eq!(app.post_form_with(&dev, &link, &[]).await.status(), 200);
    assert_eq!(app.deliver_emails().await.len(), 2, "requester and admin");
    // Used: a clear page, no second notice, no second audit entry.
    let again = app.post_form_with(&dev, &link, &[]).await;
    assert_eq!(again.status(), 404);
    assert!(again.text().await.unwrap().contains("already confirmed"));
    assert_eq!(app.get_with(&dev, &link).await.status(), 404);
    assert!(app.deliver_emails().await.is_empty());
    // A mangled link is refused the same way; a GET never confirms.
    assert_eq!(
        app.get_with(&dev, "/access-requests/confirm/not-a-token")
            .await
            .status(),
        404
    );
    // The token is neither stored nor logged in clear.
    let token = link.rsplit('/').next().unwrap().to_string();
    assert!(!captured_logs().contains(&token));
    let snapshot = app.db_snapshot().await.join("\n");
    assert!(!snapshot.contains(&token));
}

async fn confirming_needs_the_csrf_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let (dev, _) = client();
    assert_eq!(
        app.submit_access_request(&dev, VICTIM, &[]).await.status(),
        200
    );
    let link = app.confirmation_link(VICTIM).await;
    let res = dev.post(app.url(&link)).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        app.get_with(&dev, &link).await.status(),
        200,
        "still unused"
    );
    app.deliver_emails().await;
}

both_backends!(
    a_strangers_unconfirmed_request_does_not_block_the_victim,
    unconfirmed_requests_are_invisible_to_admins_and_notify_nobody,
    the_confirmation_link_expires_after_48_hours,
    the_confirmation_link_works_once,
    confirming_needs_the_csrf_token,
);
