//! Delivery backends. SMTP (STARTTLS by default, implicit TLS with `smtps://`, plain for a local
//! relay with `?tls=none`), one `.eml` file per message, or an in-memory mailbox for tests.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::db::models::outbox::OutboxRow;
use crate::settings::Settings;

/// A message as a test mailbox received it.
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub kind: String,
}

/// In-memory delivery, for tests. Cloning shares the mailbox. `take` empties the inbox;
/// `history` keeps every message ever delivered.
#[derive(Debug, Clone, Default)]
pub struct MemoryMailbox(Arc<Mutex<Vec<SentEmail>>>, Arc<Mutex<Vec<SentEmail>>>);

impl MemoryMailbox {
    pub fn history(&self) -> Vec<SentEmail> {
        self.1.lock().expect("mailbox lock").clone()
    }

    pub fn take(&self) -> Vec<SentEmail> {
        std::mem::take(&mut *self.0.lock().expect("mailbox lock"))
    }

    pub fn len(&self) -> usize {
        self.0.lock().expect("mailbox lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `.eml` file per message in `dir`, written by us with mode 0600 (the directory is
    /// 0700): a message may hold a live reset link.
    File {
        dir: PathBuf,
    },
    Memory(MemoryMailbox),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Smtp(_) => f.write_str("Mailer::Smtp"),
            Mailer::File { dir } => write!(f, "Mailer::File({})", dir.display()),
            Mailer::Memory(_) => f.write_str("Mailer::Memory"),
        }
    }
}

impl Mailer {
    /// SMTP when `PORTAL_SMTP_URL` is set, otherwise `.eml` files under `<data_dir>/mail`.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.smtp_url {
            Some(url) => {
                // Already in lettre's form (`Settings` parsed and checked it).
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| anyhow::anyhow!("PORTAL_SMTP_URL: {e}"))?
                    .timeout(Some(Duration::from_secs(15)))
                    .build();
                Ok(Mailer::Smtp(transport))
            }
            None => {
                let dir = settings.data_dir.join("mail");
                crate::files::private_dir(&dir).map_err(|e| {
                    anyhow::anyhow!("creating the mail directory {}: {e}", dir.display())
                })?;
                Ok(Mailer::File { dir })
            }
        }
    }

    /// Delivers one outbox message. A failure says what kind it is (see `FailureKind`) and
    /// carries its text for the outbox record.
    pub async fn send(&self, from: &Mailbox, row: &OutboxRow) -> Result<(), SendError> {
        // Every backend checks the address with the parser the SMTP transport uses, so tests see
        // the same refusals as production.
        let to: Mailbox = row.recipient.parse().map_err(|e| {
            SendError::new(
                FailureKind::Permanent,
                format!("invalid recipient address: {e}"),
            )
        })?;
        if let Mailer::Memory(mailbox) = self {
            let email = SentEmail {
                to: row.recipient.clone(),
                subject: row.subject.clone(),
                text: row.body_text.clone(),
                html: row.body_html.clone(),
                kind: row.kind.clone(),
            };
            mailbox.1.lock().expect("mailbox lock").push(email.clone());
            mailbox.0.lock().expect("mailbox lock").push(email);
            return Ok(());
        }
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(row.subject.clone())
            .message_id(Some(format!("<{}@concat-portal>", row.id)))
            .multipart(MultiPart::alternative_plain_html(
                row.body_text.clone(),
                row.body_html.clone(),
            ))
            .map_err(|e| {
                SendError::new(FailureKind::Permanent, format!("building the message: {e}"))
            })?;
        match self {
            Mailer::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| {
                let mut s = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    s.push_str(": ");
                    s.push_str(&cause.to_string());
                    source = cause.source();
                }
                SendError::new(classify_smtp(&e), s)
            }),
            Mailer::File { dir } => {
                let path = dir.join(format!("{}.eml", uuid::Uuid::new_v4()));
                let raw = message.formatted();
                let target = path.clone();
                // The mail directory not being writable is the file backend's outage.
                tokio::task::spawn_blocking(move || {
                    crate::files::write_new_private_file(&target, &raw)
                })
                .await
                .map_err(|e| SendError::new(FailureKind::Other, e.to_string()))?
                .map_err(|e| {
                    SendError::new(
                        FailureKind::Unreachable,
                        format!("writing {}: {e}", path.display()),
                    )
                })?;
                tracing::info!(path = %path.display(), kind = %row.kind, "email written to file");
                Ok(())
            }
            Mailer::Memory(_) => unreachable!("handled above"),
        }
    }
}

/// What a failed delivery means for the message, which decides what the dispatcher does next.
/// Stored as the message's `failure_kind`, so it is defined with the outbox row.
pub use crate::db::models::outbox::FailureKind;

/// A failed delivery: its kind and the text recorded as the message's last error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub kind: FailureKind,
    pub message: String,
}

impl SendError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn classify_smtp(e: &lettre::transport::smtp::Error) -> FailureKind {
    if let Some(code) = e.status() {
        let code: u16 = code.to_string().parse().unwrap_or(0);
        return classify_reply(code, &e.to_string());
    }
    if e.is_response() && e.to_string().ends_with("incomplete response") {
        // The connection closed before a whole reply: the server went away mid-conversation.
        FailureKind::Unreachable
    } else if e.is_response() || e.is_client() {
        FailureKind::Other
    } else {
        // Connection, network, TLS, timeout, transport shut down.
        FailureKind::Unreachable
    }
}

/// Sorts a negative SMTP reply (its code and text). 4xx is "later": `421` (service not
/// available) for the whole server, any other for this message. 5xx is permanent for the
/// message, except replies that refuse the session rather than the message — command syntax
/// (500–504), authentication (530, 534, 535, 538, enhanced 5.7.8) and the sender's address
/// (enhanced 5.1.7, 5.1.8: our `PORTAL_MAIL_FROM`) — which no message could get past: those
/// are the operator's to fix, and the mail waits for them like for an outage.
pub fn classify_reply(code: u16, text: &str) -> FailureKind {
    match code {
        421 => FailureKind::Unreachable,
        400..=499 => FailureKind::Deferred,
        500..=504 | 530 | 534 | 535 | 538 => FailureKind::Unreachable,
        500..=599 => {
            let session = ["5.1.7", "5.1.8", "5.7.8"]
                .iter()
                .any(|enhanced| text.contains(enhanced));
            if session {
                FailureKind::Unreachable
            } else {
                FailureKind::Permanent
            }
        }
        _ => FailureKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::{classify_reply, FailureKind};

    #[test]
    fn smtp_replies_are_sorted() {
        use FailureKind::*;
        for (code, text, kind) in [
            (421, "421 4.3.2 shutting down", Unreachable),
            (450, "450 4.2.1 mailbox busy", Deferred),
            (451, "451 4.7.1 greylisted", Deferred),
            (452, "452 4.2.2 mailbox full", Deferred),
            (550, "550 5.1.1 no such user", Permanent),
            (553, "553 5.1.3 bad address syntax", Permanent),
            (554, "554 5.7.1 message refused", Permanent),
            (552, "552 5.3.4 message too big", Permanent),
            (535, "535 5.7.8 authentication failed", Unreachable),
            (530, "530 5.7.0 authentication required", Unreachable),
            (502, "502 5.5.2 not implemented", Unreachable),
            (553, "553 5.1.8 sender address rejected", Unreachable),
        ] {
            assert_eq!(classify_reply(code, text), kind, "{text}");
        }
    }
}
