//! Writing messages into the outbox, inside the caller's transaction.

use anyhow::Context;
use chrono::NaiveDateTime;

use super::EmailMessage;
use crate::db::models::outbox::{self, NewOutboxRow, OutboxStatus};
use crate::db::{new_id, DbConn};

/// Renders `msg` and queues it for `recipient`. `dedup_key` names the event that causes the
/// message (e.g. `password_reset:<token digest>`): a second enqueue with the same key is ignored,
/// so retried or repeated work never emails twice. Returns whether the message was new.
///
/// Call it on the connection of the transaction that makes the change the message reports.
pub fn enqueue(
    conn: &mut DbConn,
    recipient: &str,
    msg: &dyn EmailMessage,
    dedup_key: &str,
    now: NaiveDateTime,
) -> anyhow::Result<bool> {
    let text = msg.render_text().context("rendering the text body")?;
    let html = msg.render_html().context("rendering the HTML body")?;
    let subject = msg.subject();
    let id = new_id();
    let row = NewOutboxRow {
        id: &id,
        dedup_key,
        kind: msg.kind(),
        recipient,
        subject: &subject,
        body_text: &text,
        body_html: &html,
        status: OutboxStatus::Queued,
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
    };
    outbox::insert_once(conn, &row).context("writing to the outbox")
}

/// Queues one message per recipient `(email, name)` (the list first, so it can be read on the
/// same connection in the call), built from the name, with the dedup key
/// `<key>:<lowercased email>` — the usual shape of a notice to a group (owners, admins).
pub fn enqueue_each<M: EmailMessage>(
    recipients: Vec<(String, String)>,
    conn: &mut DbConn,
    key: &str,
    now: NaiveDateTime,
    message: impl Fn(String) -> M,
) -> anyhow::Result<()> {
    for (email, name) in recipients {
        let dedup = format!("{key}:{}", email.to_lowercase());
        enqueue(conn, &email, &message(name), &dedup, now)?;
    }
    Ok(())
}

/// A ConCat admin sends a failed or waiting message again now (Mail page). `None` when there
/// is no such message; `Some(false)` when it is not one that can be retried.
pub fn retry_by_admin(
    c: &mut DbConn,
    ctx: &crate::context::Context,
    id: &str,
) -> anyhow::Result<Option<bool>> {
    let Some(row) = outbox::find(c, id)? else {
        return Ok(None);
    };
    let retried = outbox::retry_now(c, id, ctx.now)? == 1;
    if retried {
        ctx.audit("outbox.retry")
            .target("outbox", id)
            .details(serde_json::json!({ "kind": row.kind, "recipient": row.recipient }))
            .record(c, ctx.now)?;
    }
    Ok(Some(retried))
}
