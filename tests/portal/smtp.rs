//! Delivery through a real SMTP server on loopback: while it is down, messages stay queued with
//! the error recorded; after it starts, each is delivered exactly once, across an app restart.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use concat_portal::db::models::outbox as rows;
use concat_portal::email::Mailer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::*;

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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn smtp_app(db: std::sync::Arc<TestDb>, extra: &[(&str, &str)]) -> TestApp {
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
    // The server is down: every attempt fails and is recorded.
    let report = app.dispatcher.run_once().await.unwrap();
    assert_eq!((report.sent, report.failed_attempts), (0, 3));
    let unsent = app.unsent().await;
    assert_eq!(unsent.len(), 3);
    for row in &unsent {
        assert_eq!(row.status, rows::QUEUED);
        assert_eq!(row.attempts, 1);
        assert!(
            row.last_error
                .as_deref()
                .unwrap_or("")
                .to_lowercase()
                .contains("connect"),
            "{:?}",
            row.last_error
        );
    }
    let page = app.get_html("/admin/outbox?status=queued").await;
    assert!(page.contains("grace@concat.test") && page.to_lowercase().contains("connect"));

    // The app restarts before the server comes back: nothing is lost.
    app.allow_unsent_mail();
    app.stop().await;
    drop(app);
    let smtp = SmtpServer::start(port).await;
    let app = smtp_app(db.clone(), &extra).await;
    assert_eq!(app.unsent().await.len(), 3);

    // Backoff: not due yet. An admin's "retry now" sends one at once.
    assert_eq!(app.dispatcher.run_once().await.unwrap().sent, 0);
    app.login_ok(ADMIN).await;
    let first = app.unsent().await.remove(0);
    assert_eq!(
        app.post_form(&format!("/admin/outbox/{}/retry", first.id), &[])
            .await
            .status(),
        303
    );
    assert_eq!(app.dispatcher.run_once().await.unwrap().sent, 1);
    // The rest go when their backoff ends.
    app.clock.advance(Duration::seconds(31));
    assert_eq!(app.dispatcher.run_once().await.unwrap().sent, 2);
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
    assert!(app
        .audit_actions()
        .await
        .contains(&"outbox.retry".to_string()));
}

async fn messages_past_the_attempt_limit_are_failed_until_retried(backend: Backend) {
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
    app.dispatcher.run_once().await.unwrap();
    app.clock.advance(Duration::seconds(31));
    app.dispatcher.run_once().await.unwrap();
    let row = app.unsent().await.remove(0);
    assert_eq!((row.status.as_str(), row.attempts), (rows::FAILED, 2));
    app.clock.advance(Duration::hours(5));
    assert_eq!(
        app.dispatcher.run_once().await.unwrap().failed_attempts,
        0,
        "failed messages wait for an admin"
    );

    app.login_ok(ADMIN).await;
    let page = app.get_html("/admin/outbox?status=failed").await;
    assert!(
        page.contains("Reset your ConCat developer portal password") && page.contains("Retry now")
    );
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
}

both_backends!(
    messages_wait_for_the_smtp_server_and_are_delivered_once,
    messages_past_the_attempt_limit_are_failed_until_retried,
);
