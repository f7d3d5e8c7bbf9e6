//! Email: message types rendered from askama templates (text + HTML), a transactional outbox, and
//! a dispatcher that delivers through SMTP, `.eml` files or an in-memory mailbox (tests).
//!
//! Code never sends directly. `outbox::enqueue` writes the rendered message in the caller's
//! transaction, so a rolled-back change sends nothing and a committed change is never lost.

pub mod dispatcher;
pub mod messages;
pub mod outbox;
pub mod transport;

pub use dispatcher::Dispatcher;
pub use messages::EmailMessage;
pub use transport::{FailureKind, Mailer, MemoryMailbox, SendError, SentEmail};
