//! Email addresses: the forms accept only what the mail transport can deliver (lettre's parser,
//! no quoted local parts, no IP addresses or domain literals, no dotless domains), and a queued
//! message that can never be delivered is failed after one attempt instead of retried forever.

use concat_portal::clock::Clock;
use concat_portal::db;
use concat_portal::db::models::outbox as rows;
use concat_portal::email::messages::PasswordReset;
use concat_portal::email::outbox;

use crate::support::*;

const UNDELIVERABLE: [(&str, &str); 4] = [
    ("\"a,b@evil.org\"@example.com", "Quoted addresses"),
    ("\"grace\"@example.com", "Quoted addresses"),
    ("a@[127.0.0.1]", "not at an IP address"),
    ("grace@localhost", "full domain name"),
];

async fn forms_refuse_undeliverable_addresses_and_keep_the_input(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    for (bad, says) in UNDELIVERABLE {
        // A ConCat admin inviting another admin.
        let res = app
            .post_form_with(
                &admin,
                "/admin/users/invite",
                &[("email", bad), ("name", "Grace Hopper")],
            )
            .await;
        assert_eq!(res.status(), 422, "{bad}");
        let html = res.text().await.unwrap();
        assert!(html.contains(says), "{bad}: {html}");
        assert_eq!(html.matches("class=\"field-error\"").count(), 1, "{bad}");
        assert!(html.contains("value=\"Grace Hopper\""), "{bad}: name kept");

        // A stranger requesting access.
        let res = app.request_access_with(&app.client, bad, &[]).await;
        assert_eq!(res.status(), 422, "{bad}");
        let html = res.text().await.unwrap();
        assert!(html.contains(says), "{bad}: {html}");
        assert_eq!(html.matches("class=\"field-error\"").count(), 1, "{bad}");
        assert!(
            html.contains("value=\"Ticketly Ltd\""),
            "{bad}: company kept"
        );
    }
    assert!(app.unsent().await.is_empty(), "nothing was queued");
    // An ordinary address still goes through, lower-cased for look-ups as before.
    let res = app
        .post_form_with(
            &admin,
            "/admin/users/invite",
            &[("email", "Grace.Hopper@Example.COM"), ("name", "Grace")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let sent = app.deliver_emails().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.to_lowercase(), "grace.hopper@example.com");
}

async fn a_queued_message_to_an_undeliverable_address_fails_after_one_attempt(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let now = app.clock.now_naive();
    db::run(&app.pool, move |c| {
        for (i, to) in ["\"a,b@evil.org\"@example.com", "a@[127.0.0.1]"]
            .into_iter()
            .enumerate()
        {
            let msg = PasswordReset {
                name: "Someone".into(),
                link: "http://portal.test/reset-password/x".into(),
            };
            outbox::enqueue(c, to, &msg, &format!("legacy-{i}"), now)?;
        }
        Ok(())
    })
    .await
    .unwrap();
    let report = app.dispatcher.run_once().await.unwrap();
    assert_eq!((report.sent, report.failed_attempts), (0, 2));
    let unsent = app.unsent().await;
    assert_eq!(unsent.len(), 2);
    for row in &unsent {
        assert_eq!(row.status, rows::OutboxStatus::Failed, "{}", row.recipient);
        assert_eq!(row.attempts, 1);
        assert!(
            row.last_error
                .as_deref()
                .unwrap_or("")
                .contains("invalid recipient address"),
            "{:?}",
            row.last_error
        );
    }
    // Not retried later either.
    app.clock.advance(chrono::Duration::hours(6));
    assert_eq!(app.dispatcher.run_once().await.unwrap().failed_attempts, 0);
    assert!(app.mailbox.is_empty());
    app.allow_unsent_mail();
}

both_backends!(
    forms_refuse_undeliverable_addresses_and_keep_the_input,
    a_queued_message_to_an_undeliverable_address_fails_after_one_attempt,
);
