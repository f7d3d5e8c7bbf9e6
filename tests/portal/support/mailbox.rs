//! Email as the tests see it: the outbox the portal writes, the dispatcher run by hand, and the
//! in-memory mailbox it delivers to.

use concat_portal::db;
use concat_portal::db::models::outbox::{self, OutboxRow};
use concat_portal::email::SentEmail;

use super::harness::{captured_logs, TestApp};

impl TestApp {
    /// Runs the outbox dispatcher once and returns what was delivered to the test mailbox.
    pub async fn deliver_emails(&self) -> Vec<SentEmail> {
        self.background.idle().await;
        self.dispatcher.run_once().await.expect("dispatch");
        self.mailbox.take()
    }

    /// Delivers and expects exactly one email, to `to`.
    pub async fn one_email_to(&self, to: &str) -> SentEmail {
        let mut sent = self.deliver_emails().await;
        assert_eq!(
            sent.len(),
            1,
            "expected one email, got {:?}",
            sent.iter().map(|e| (&e.to, &e.subject)).collect::<Vec<_>>()
        );
        let email = sent.remove(0);
        assert_eq!(email.to, to);
        email
    }

    pub async fn unsent(&self) -> Vec<OutboxRow> {
        self.background.idle().await;
        db::run(&self.pool, |c| Ok(outbox::unsent(c)?))
            .await
            .unwrap()
    }

    /// This test leaves queued mail on purpose.
    pub fn allow_unsent_mail(&mut self) {
        self.allow_unsent = true;
    }

    /// Fails if `secret` appears in any email delivered so far, or in any captured log line.
    pub fn assert_secret_never_leaked(&self, secret: &str) {
        for e in self.mailbox.history() {
            assert!(
                !e.text.contains(secret) && !e.html.contains(secret) && !e.subject.contains(secret),
                "a secret in the email {:?}",
                e.subject
            );
        }
        assert!(
            !captured_logs().contains(secret),
            "a secret reached the logs"
        );
    }

    /// Queued emails (any status), as (recipient, subject).
    pub async fn outbox_subjects(&self) -> Vec<(String, String)> {
        use concat_portal::db::schema::outbox as o;
        use diesel::prelude::*;
        db::run(&self.pool, |c| {
            Ok(o::table
                .order(o::created_at.asc())
                .select((o::recipient, o::subject))
                .load(c)?)
        })
        .await
        .unwrap()
    }
}
