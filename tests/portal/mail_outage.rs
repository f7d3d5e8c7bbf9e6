//! Email across an outage, through a real SMTP server process (aiosmtpd, pinned in
//! tests/python-requirements.txt: see `support::test_python`; skipped when missing, a failure
//! with `CI=true`). A 2-hour outage on the test clock uses up no
//! attempts and costs one connection per probe; after recovery every message is delivered
//! within 60 s, exactly once. A recipient the server rejects with 550 is failed at once.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

use chrono::Duration;
use concat_portal::clock::Clock;
use concat_portal::db;
use concat_portal::db::models::outbox as rows;
use concat_portal::email::messages::PasswordReset;
use concat_portal::email::outbox;

use crate::smtp::{free_port, smtp_app};
use crate::support::*;

/// The Python interpreter that has aiosmtpd, or `None` (skip) outside CI.
fn aiosmtpd_python() -> Option<PathBuf> {
    test_python("aiosmtpd")
}

/// aiosmtpd on 127.0.0.1:`port`, writing every message it accepts to its own directory and
/// rejecting the given recipients with 550. Killed when dropped.
struct Aiosmtpd {
    child: Child,
    dir: tempfile::TempDir,
}

impl Aiosmtpd {
    fn start(python: &Path, port: u16, reject: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/portal/support/smtp_sink.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .args(reject)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting aiosmtpd");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(StdDuration::from_secs(20))
            .unwrap_or_default();
        let server = Self { child, dir };
        assert_eq!(line.trim(), "ready", "aiosmtpd did not start");
        server
    }

    /// Every message the server accepted, as received.
    fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "eml") {
                out.push(std::fs::read_to_string(path).unwrap());
            }
        }
        out
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn queue(app: &TestApp, recipients: Vec<String>) {
    let now = app.clock.now_naive();
    db::run(&app.pool, move |c| {
        for to in &recipients {
            let msg = PasswordReset {
                name: to.clone(),
                link: "http://portal.test/reset-password/x".into(),
            };
            outbox::enqueue(c, to, &msg, &format!("outage:{to}"), now)?;
        }
        Ok(())
    })
    .await
    .unwrap();
}

async fn every_message_is_delivered_once_within_a_minute_of_a_two_hour_outage(backend: Backend) {
    let Some(python) = aiosmtpd_python() else {
        return;
    };
    let db = TestDb::new(backend);
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let extra = [
        ("PORTAL_SMTP_URL", url.as_str()),
        ("PORTAL_OUTBOX_MAX_ATTEMPTS", "3"),
    ];
    let app = smtp_app(db, &extra).await;
    let recipients: Vec<String> = (0..10).map(|i| format!("user{i}@example.test")).collect();
    queue(&app, recipients.clone()).await;

    // Two hours without a mail server, the dispatcher passing every 30 s (test clock).
    let steps = 2 * 60 * 2;
    let mut tries = 0;
    for _ in 0..steps {
        let report = app.dispatcher.run_once().await.unwrap();
        assert_eq!(report.sent, 0);
        tries += report.failed_attempts;
        app.clock.advance(Duration::seconds(30));
    }
    assert!(app.dispatcher.in_outage());
    assert_eq!(
        tries, steps,
        "one probe per 30 s, not every message each time"
    );
    let waiting = app.unsent().await;
    assert_eq!(waiting.len(), 10);
    for row in &waiting {
        assert_eq!(
            row.status,
            rows::OutboxStatus::Queued,
            "{}: nothing dropped",
            row.recipient
        );
        assert_eq!(row.counted_failures, 0, "an outage uses up no attempts");
    }
    assert_eq!(
        waiting.iter().map(|r| r.attempts).sum::<i32>() as usize,
        steps
    );
    let admin = app.admin().await;
    let page = app
        .get_with(&admin, "/admin/outbox?status=queued")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("waiting for the mail server") && page.contains("10 queued messages"),
        "{page}"
    );

    // The server comes back.
    let smtp = Aiosmtpd::start(&python, port, &[]);
    let recovered = app.clock.now();
    let mut sent = 0;
    for _ in 0..=2 {
        sent += app.dispatcher.run_once().await.unwrap().sent;
        if sent == 10 {
            break;
        }
        app.clock.advance(Duration::seconds(30));
    }
    assert_eq!(sent, 10);
    assert!(
        app.clock.now() - recovered <= Duration::seconds(60),
        "delivered {} after recovery",
        app.clock.now() - recovered
    );
    assert!(!app.dispatcher.in_outage());
    // Later passes send nothing again.
    for _ in 0..3 {
        app.clock.advance(Duration::hours(1));
        assert_eq!(app.dispatcher.run_once().await.unwrap().sent, 0);
    }
    let got = smtp.messages();
    assert_eq!(got.len(), 10, "each message exactly once");
    for to in &recipients {
        assert_eq!(
            got.iter()
                .filter(|m| m.contains(&format!("X-Envelope-To: {to}\r\n")))
                .count(),
            1,
            "{to}"
        );
    }
    assert!(app.unsent().await.is_empty());
}

async fn a_recipient_rejected_with_550_is_failed_at_once(backend: Backend) {
    let Some(python) = aiosmtpd_python() else {
        return;
    };
    let db = TestDb::new(backend);
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let extra = [("PORTAL_SMTP_URL", url.as_str())];
    let mut app = smtp_app(db, &extra).await;
    let smtp = Aiosmtpd::start(&python, port, &["nobody@example.test"]);
    queue(
        &app,
        vec!["nobody@example.test".into(), "somebody@example.test".into()],
    )
    .await;
    let report = app.dispatcher.run_once().await.unwrap();
    assert_eq!((report.sent, report.failed_attempts), (1, 1));
    let row = app.unsent().await.remove(0);
    assert_eq!(row.recipient, "nobody@example.test");
    assert_eq!((row.status, row.attempts), (rows::OutboxStatus::Failed, 1));
    assert_eq!(
        row.failure_kind.map(rows::FailureKind::as_str),
        Some("permanent")
    );
    assert!(
        row.last_error.as_deref().unwrap_or("").contains("550"),
        "{:?}",
        row.last_error
    );
    // Never retried on its own.
    app.clock.advance(Duration::hours(6));
    assert_eq!(app.dispatcher.run_once().await.unwrap().failed_attempts, 0);
    let admin = app.admin().await;
    let page = app
        .get_with(&admin, "/admin/outbox?status=failed")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("refused permanently"), "{page}");
    let got = smtp.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("X-Envelope-To: somebody@example.test\r\n"));
    app.allow_unsent_mail();
}

both_backends!(
    every_message_is_delivered_once_within_a_minute_of_a_two_hour_outage,
    a_recipient_rejected_with_550_is_failed_at_once,
);
