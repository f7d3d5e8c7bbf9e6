//! Delivery through a small SMTP server on loopback: while it is down, messages stay queued with
//! the error recorded and one message probes; after it starts, each is delivered exactly once,
//! across an app restart. Unreadable replies count toward the attempt limit. (The outage and
//! 5xx tests with a real SMTP server process, aiosmtpd, are in `mail_outage.rs`.)

use std::sync::{Arc, Mutex};

use chrono::Duration;
use concat_portal::db::models::outbox as rows;
use concat_portal::email::Mailer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::support::*;

const ADMIN: &str = "ada@concat.test";

/// A minimal SMTP server: enough of RFC 5321 for lettre (EHLO, MAIL, RCPT, DATA, RSET, QUIT).
struct SmtpServer {
    received: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    async fn start(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("binding the SMTP port");
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 test.smtp ESMTP\r\n").await;
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(body) = data.as_mut() {
                            if line == "." {
                                store.lock().unwrap().push(data.take().unwrap());
                                let _ = write.write_all(b"250 2.0.0 queued\r\n").await;
                            } else {
                                body.push_str(&line);
                                body.push('\n');
                            }
                            continue;
                        }
                        let verb = line
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-test.smtp\r\n250 8BITMIME\r\n",
                            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 ok\r\n",
                            "DATA" => {
                                data = Some(String::new());
                                b"354 end with <CRLF>.<CRLF>\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
                                break;
                            }
                            _ => b"502 5.5.2 not implemented\r\n",
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        Self { received, task }
    }

    fn messages(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) async fn smtp_app(db: std::sync::Arc<TestDb>, extra: &[(&str, &str)]) -> TestApp {
    let mailer = Mailer::from_settings(&db.settings(extra)).unwrap();
    spawn_app_on(db, extra, Some(mailer)).await
}

async fn messages_wait_for_the_smtp_server_and_are_delivered_once(backend: Backend) {
    let db = TestDb::new(backend);
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let extra = [("PORTAL_SMTP_URL", url.as_str())];

    let mut app = smtp_app(db.clone(), &extra).await;
    app.create_admin(ADMIN, "Ada").await;
    app.login_ok(ADMIN).await;
    for who in ["grace", "linus", "barbara"] {
        let email = format!("{who}@concat.test");
        assert_eq!(
            app.post_form("/admin/users/invite", &[("email", &email), ("name", who)])
                .await
                .status(),
            303
        );
    }
    // The server is down: one message is tried and the error recorded; the others are not
    // tried in vain (the dispatcher probes with one message until the server answers).
    let report = app.dispatcher.run_once().await.unwrap();
    assert_eq!((report.sent, report.failed_attempts), (0, 1));
    let unsent = app.unsent().await;
    assert_eq!(unsent.len(), 3);
    assert!(unsent
        .iter()
        .all(|r| r.status == rows::OutboxStatus::Queued));
    let tried: Vec<_> = unsent.iter().filter(|r| r.attempts > 0).collect();
    assert_eq!(tried.len(), 1);
    assert_eq!((tried[0].attempts, tried[0].counted_failures), (1, 0));
    assert!(tried[0].waits_for_server());
    assert!(
        tried[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .to_lowercase()
            .contains("connect"),
        "{:?}",
        tried[0].last_error
    );
    let page = app.get_html("/admin/outbox?status=queued").await;
    assert!(page.contains("grace@concat.test") && page.to_lowercase().contains("connect"));
    assert!(page.contains("waiting for the mail server"), "{page}");
    assert!(
        page.contains("tries one message every 30 seconds"),
        "{page}"
    );
    // Until the next probe, nothing is tried.
    app.clock.advance(Duration::seconds(10));
    assert_eq!(app.dispatcher.run_once().await.unwrap().failed_attempts, 0);

    // The app restarts before the server comes back: nothing is lost.
    app.allow_unsent_mail();
    app.stop().await;
    drop(app);
    let smtp = SmtpServer::start(port).await;
    let app = smtp_app(db.clone(), &extra).await;
    assert_eq!(app.unsent().await.len(), 3);
    // The new process probes at once and, the server answering, sends everything.
    assert_eq!(app.dispatcher.run_once().await.unwrap().sent, 3);
    app.clock.advance(Duration::hours(3));
    assert_eq!(app.dispatcher.run_once().await.unwrap().sent, 0);

    let got = smtp.messages();
    assert_eq!(got.len(), 3, "each message exactly once");
    for who in ["grace", "linus", "barbara"] {
        assert_eq!(
            got.iter()
                .filter(|m| m.contains(&format!("To: {who}@concat.test")))
                .count(),
            1,
            "{who}"
        );
    }
    assert!(got
        .iter()
        .all(|m| m.contains("Subject: You have been invited")));
    assert!(app.unsent().await.is_empty());
}

/// Something that is not an SMTP server: every connection gets one line of nonsense.
async fn start_nonsense_server(port: u16) -> tokio::task::JoinHandle<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
}

async fn unreadable_replies_use_up_attempts_until_an_admin_retries(backend: Backend) {
    let db = TestDb::new(backend);
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let extra = [
        ("PORTAL_SMTP_URL", url.as_str()),
        ("PORTAL_OUTBOX_MAX_ATTEMPTS", "2"),
    ];
    let app = smtp_app(db, &extra).await;
    app.create_admin(ADMIN, "Ada").await;
    app.post_form("/forgot-password", &[("email", ADMIN)]).await;
    // The reset email is queued after the answer (issue 12.2).
    app.background.idle().await;
    // While nothing listens, attempts are not used up, however long it lasts.
    for _ in 0..6 {
        app.dispatcher.run_once().await.unwrap();
        app.clock.advance(Duration::seconds(30));
    }
    let row = app.unsent().await.remove(0);
    assert_eq!(
        (row.status, row.attempts, row.counted_failures),
        (rows::OutboxStatus::Queued, 6, 0)
    );
    // A server that answers nonsense: those failures count, and past the limit it is failed.
    let nonsense = start_nonsense_server(port).await;
    app.dispatcher.run_once().await.unwrap();
    app.clock.advance(Duration::seconds(31));
    app.dispatcher.run_once().await.unwrap();
    let row = app.unsent().await.remove(0);
    assert_eq!(
        (row.status, row.counted_failures),
        (rows::OutboxStatus::Failed, 2),
        "{:?}",
        row.last_error
    );
    assert_eq!(
        row.failure_kind.map(rows::FailureKind::as_str),
        Some("error")
    );
    app.clock.advance(Duration::hours(5));
    assert_eq!(
        app.dispatcher.run_once().await.unwrap().failed_attempts,
        0,
        "failed messages wait for an admin"
    );
    nonsense.abort();
    let _ = nonsense.await;

    app.login_ok(ADMIN).await;
    let page = app.get_html("/admin/outbox?status=failed").await;
    assert!(
        page.contains("Reset your ConCat developer portal password") && page.contains("Retry now")
    );
    assert!(page.contains("(2 of 2 counted)"), "{page}");
    let dash = app.get_html("/admin").await;
    assert!(dash.contains("stat-alert"));
    let smtp = SmtpServer::start(port).await;
    assert_eq!(
        app.post_form(&format!("/admin/outbox/{}/retry", row.id), &[])
            .await
            .status(),
        303
    );
    assert_eq!(app.dispatcher.run_once().await.unwrap().sent, 1);
    assert_eq!(smtp.messages().len(), 1);
    assert!(app
        .audit_actions()
        .await
        .contains(&"outbox.retry".to_string()));
}

both_backends!(
    messages_wait_for_the_smtp_server_and_are_delivered_once,
    unreadable_replies_use_up_attempts_until_an_admin_retries,
);
