//! The transactional outbox: rolled-back changes send nothing, dedup keys send once, parallel
//! dispatchers never double-send, and the file transport writes one .eml per message.

use concat_portal::db::{self, write_tx};
use concat_portal::email::messages::PasswordReset;
use concat_portal::email::{outbox, Dispatcher, Mailer};

use crate::support::*;

fn message(n: usize) -> PasswordReset {
    PasswordReset {
        name: format!("User {n}"),
        link: format!("http://portal.test/reset-password/{n}"),
    }
}

async fn queue(app: &TestApp, to: &str, key: &str) -> bool {
    let (to, key) = (to.to_string(), key.to_string());
    let now = app.clock.now_naive();
    db::run(&app.pool, move |c| {
        outbox::enqueue(c, &to, &message(1), &key, now)
    })
    .await
    .unwrap()
}

use concat_portal::clock::Clock;

async fn a_rolled_back_transaction_sends_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let now = app.clock.now_naive();
    let result = db::run(&app.pool, move |c| {
        write_tx(c, |c| {
            outbox::enqueue(c, "someone@example.test", &message(1), "rolled-back", now)?;
            Err::<(), _>(anyhow::anyhow!(
                "the change failed after queueing its email"
            ))
        })
    })
    .await;
    assert!(result.is_err());
    assert!(app.deliver_emails().await.is_empty());
    assert!(app.unsent().await.is_empty());
}

async fn a_dedup_key_sends_once(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(queue(&app, "someone@example.test", "event-1").await);
    assert!(
        !queue(&app, "someone@example.test", "event-1").await,
        "second enqueue ignored"
    );
    assert_eq!(app.deliver_emails().await.len(), 1);
    assert!(
        !queue(&app, "someone@example.test", "event-1").await,
        "even after sending"
    );
    assert!(app.deliver_emails().await.is_empty());
}

async fn parallel_dispatchers_send_each_message_once(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..20 {
        queue(
            &app,
            &format!("user{i}@example.test"),
            &format!("event-{i}"),
        )
        .await;
    }
    let (a, b): (Dispatcher, Dispatcher) = (app.dispatcher.clone(), app.dispatcher.clone());
    let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
    assert_eq!(ra.unwrap().sent + rb.unwrap().sent, 20);
    let mut sent: Vec<String> = app.mailbox.take().into_iter().map(|e| e.to).collect();
    assert_eq!(sent.len(), 20, "twenty deliveries in all");
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 20, "each message delivered exactly once");
}

async fn file_transport_writes_one_eml_per_message(backend: Backend) {
    let db = TestDb::new(backend);
    let mailer = Mailer::from_settings(&db.settings(&[])).unwrap();
    let app = spawn_app_on(db.clone(), &[], Some(mailer)).await;
    app.create_admin("ada@concat.test", "Ada").await;
    app.post_form("/forgot-password", &[("email", "ada@concat.test")])
        .await;
    // The reset email is queued after the answer (issue 12.2).
    app.background.idle().await;
    let report = app.dispatcher.run_once().await.unwrap();
    assert_eq!(report.sent, 1);
    let dir = db.dir.path().join("mail");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(raw.contains("Subject: Reset your ConCat developer portal password"));
    assert!(raw.contains("To: ada@concat.test"));
    assert!(raw.contains("multipart/alternative"));
}

async fn a_message_being_sent_is_not_retried_and_bodies_are_dropped_after_delivery(
    backend: Backend,
) {
    use concat_portal::db::models::outbox as rows;
    let app = spawn_app(backend).await;
    queue(&app, "someone@example.test", "event-1").await;
    let id = app.unsent().await.remove(0).id;
    // A dispatcher holds the lease (mid-send) ...
    let (claim_id, now) = (id.clone(), app.clock.now_naive());
    let claimed = db::run(&app.pool, move |c| {
        Ok(rows::claim(
            c,
            &claim_id,
            now,
            now + chrono::Duration::minutes(5),
        )?)
    })
    .await
    .unwrap();
    assert!(claimed.is_some());
    // ... so an admin's "retry now" must not free it for a second sender.
    let admin = app.admin().await;
    let res = app
        .post_form_with(&admin, &format!("/admin/outbox/{id}/retry"), &[])
        .await;
    assert_eq!(res.status(), 303);
    let page = app
        .get_with(&admin, "/admin/outbox")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("being sent right now"), "{page}");
    assert_eq!(app.dispatcher.run_once().await.unwrap().sent, 0);
    // When the lease runs out (the sender died), it is sent once, and its body is dropped.
    app.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(app.deliver_emails().await.len(), 1);
    let (find_id, _) = (id.clone(), ());
    let row = db::run(&app.pool, move |c| Ok(rows::find(c, &find_id)?))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, rows::OutboxStatus::Sent);
    assert_eq!(row.body_text, rows::DELIVERED_BODY);
    assert!(!row.body_html.contains("reset-password"));
}

both_backends!(
    a_message_being_sent_is_not_retried_and_bodies_are_dropped_after_delivery,
    a_rolled_back_transaction_sends_nothing,
    a_dedup_key_sends_once,
    parallel_dispatchers_send_each_message_once,
    file_transport_writes_one_eml_per_message,
);
