use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::outbox as o;
use crate::db::DbConn;

crate::text_enum! {
    /// `outbox.status`.
    pub enum OutboxStatus {
        /// Waiting for its next attempt (`next_attempt_at`).
        Queued = "queued",
        Sent = "sent",
        /// Out of attempts, or refused permanently; an admin can retry it.
        Failed = "failed",
    }
}

impl OutboxStatus {
    pub fn is_queued(self) -> bool {
        self == OutboxStatus::Queued
    }

    pub fn is_sent(self) -> bool {
        self == OutboxStatus::Sent
    }

    pub fn is_failed(self) -> bool {
        self == OutboxStatus::Failed
    }
}

crate::text_enum! {
    /// What a failed delivery means for the message, which decides what the dispatcher does
    /// next; stored as `outbox.failure_kind` of the last failed attempt.
    pub enum FailureKind {
        /// The mail server could not be reached or would not serve us (connection refused,
        /// timeout, TLS or network error, `421`, authentication or protocol refusals): nothing
        /// is wrong with the message. Does not use up attempts; the message waits for the
        /// server, and is released at once when the dispatcher's probe gets through.
        Unreachable = "unreachable",
        /// The server answered this message with a 4xx reply ("try again later"). Retried with
        /// backoff; does not use up attempts.
        Deferred = "deferred",
        /// Can never be delivered: an invalid address, or a 5xx reply for the recipient or the
        /// message. Marked failed at once.
        Permanent = "permanent",
        /// Anything else (an unreadable reply, an internal client error): retried with backoff
        /// and counted toward `PORTAL_OUTBOX_MAX_ATTEMPTS`.
        Other = "error",
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = o)]
pub struct OutboxRow {
    pub id: String,
    pub dedup_key: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// Kind of the last failed attempt.
    pub failure_kind: Option<FailureKind>,
    /// Failed attempts that count toward the limit (not those of an unreachable server or 4xx).
    pub counted_failures: i32,
}

impl OutboxRow {
    /// Queued because the mail server could not be reached at its last attempt.
    pub fn waits_for_server(&self) -> bool {
        self.status.is_queued() && self.failure_kind == Some(FailureKind::Unreachable)
    }

    /// Queued again because the server answered the last attempt with "try again later".
    pub fn deferred(&self) -> bool {
        self.status.is_queued() && self.failure_kind == Some(FailureKind::Deferred)
    }

    /// Failed because the server refused it for good.
    pub fn refused_permanently(&self) -> bool {
        self.status.is_failed() && self.failure_kind == Some(FailureKind::Permanent)
    }
}

#[derive(Insertable)]
#[diesel(table_name = o)]
pub struct NewOutboxRow<'a> {
    pub id: &'a str,
    pub dedup_key: &'a str,
    pub kind: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// Inserts the message unless one with the same dedup key exists; returns whether it was new.
pub fn insert_once(conn: &mut DbConn, row: &NewOutboxRow<'_>) -> QueryResult<bool> {
    let n = crate::insert_or_ignore!(conn, o::table, row, o::dedup_key)?;
    Ok(n == 1)
}

/// Ids of queued messages due now, oldest first.
pub fn due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<String>> {
    o::table
        .filter(o::status.eq(OutboxStatus::Queued))
        .filter(o::next_attempt_at.le(now))
        .filter(o::locked_until.is_null().or(o::locked_until.le(now)))
        .order((o::next_attempt_at.asc(), o::id.asc()))
        .limit(limit)
        .select(o::id)
        .load(conn)
}

/// Takes a lease on one due message so that only one dispatcher (of any process) sends it.
/// Returns the message when the lease was won.
pub fn claim(
    conn: &mut DbConn,
    id: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> QueryResult<Option<OutboxRow>> {
    let won = diesel::update(
        o::table
            .filter(o::id.eq(id))
            .filter(o::status.eq(OutboxStatus::Queued))
            .filter(o::next_attempt_at.le(now))
            .filter(o::locked_until.is_null().or(o::locked_until.le(now))),
    )
    .set((
        o::locked_until.eq(lease_until),
        o::attempts.eq(o::attempts + 1),
    ))
    .execute(conn)?;
    if won == 0 {
        return Ok(None);
    }
    find(conn, id)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<OutboxRow>> {
    o::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()
}

/// What stays of a delivered message's body: links in it may carry one-time tokens, which the
/// database must not keep in clear text once the email has gone.
pub const DELIVERED_BODY: &str = "[delivered; the body is not kept]";

pub fn mark_sent(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(o::table.find(id))
        .set((
            o::status.eq(OutboxStatus::Sent),
            o::body_text.eq(DELIVERED_BODY),
            o::body_html.eq(DELIVERED_BODY),
            o::sent_at.eq(now),
            o::locked_until.eq(None::<NaiveDateTime>),
            o::last_error.eq(None::<String>),
            o::failure_kind.eq(None::<FailureKind>),
        ))
        .execute(conn)
}

/// A failed attempt, as recorded.
#[derive(Debug, Clone)]
pub struct Failure<'a> {
    pub error: &'a str,
    pub kind: FailureKind,
    /// Whether it counts toward the attempt limit.
    pub counted: bool,
    /// The next attempt, or `None`: the message is failed (an admin can retry it).
    pub next_attempt_at: Option<NaiveDateTime>,
}

/// Records a failed attempt: either schedules the next one or marks the message failed, and
/// releases the lease.
pub fn record_failure(conn: &mut DbConn, id: &str, failure: &Failure<'_>) -> QueryResult<usize> {
    let mut error = failure.error.to_string();
    if error.len() > 2000 {
        let mut cut = 2000;
        while !error.is_char_boundary(cut) {
            cut -= 1;
        }
        error.truncate(cut);
    }
    let counted = o::counted_failures + i32::from(failure.counted);
    let q = diesel::update(o::table.find(id));
    match failure.next_attempt_at {
        Some(next) => q
            .set((
                o::status.eq(OutboxStatus::Queued),
                o::last_error.eq(error),
                o::failure_kind.eq(failure.kind),
                o::counted_failures.eq(counted),
                o::next_attempt_at.eq(next),
                o::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn),
        None => q
            .set((
                o::status.eq(OutboxStatus::Failed),
                o::last_error.eq(error),
                o::failure_kind.eq(failure.kind),
                o::counted_failures.eq(counted),
                o::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn),
    }
}

/// The mail server is back: every queued message that was waiting for it becomes due now.
/// Returns how many were released.
pub fn release_waiting(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        o::table
            .filter(o::status.eq(OutboxStatus::Queued))
            .filter(o::failure_kind.eq(FailureKind::Unreachable))
            .filter(o::next_attempt_at.gt(now)),
    )
    .set(o::next_attempt_at.eq(now))
    .execute(conn)
}

/// Queued messages whose last attempt found the mail server unreachable.
pub fn count_waiting_for_server(conn: &mut DbConn) -> QueryResult<i64> {
    o::table
        .filter(o::status.eq(OutboxStatus::Queued))
        .filter(o::failure_kind.eq(FailureKind::Unreachable))
        .count()
        .get_result(conn)
}

/// "Retry now": a queued or failed message becomes due immediately, with a fresh attempt limit. Sent messages, and one a
/// dispatcher is sending right now (its lease has not run out), are left alone.
pub fn retry_now(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        o::table
            .find(id)
            .filter(o::status.ne(OutboxStatus::Sent))
            .filter(o::locked_until.is_null().or(o::locked_until.le(now))),
    )
    .set((
        o::status.eq(OutboxStatus::Queued),
        o::next_attempt_at.eq(now),
        o::locked_until.eq(None::<NaiveDateTime>),
        o::counted_failures.eq(0),
    ))
    .execute(conn)
}

pub fn count_by_status(conn: &mut DbConn, status: OutboxStatus) -> QueryResult<i64> {
    o::table
        .filter(o::status.eq(status))
        .count()
        .get_result(conn)
}

pub fn page(
    conn: &mut DbConn,
    status: Option<OutboxStatus>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<OutboxRow>, i64)> {
    let build = || {
        let mut q = o::table.into_boxed();
        if let Some(s) = status {
            q = q.filter(o::status.eq(s));
        }
        q
    };
    let total = build().count().get_result(conn)?;
    let rows = build()
        .select(OutboxRow::as_select())
        .order((o::created_at.desc(), o::id.desc()))
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    Ok((rows, total))
}

/// Every message not yet sent (tests use this to fail on unexpected leftovers).
pub fn unsent(conn: &mut DbConn) -> QueryResult<Vec<OutboxRow>> {
    o::table
        .filter(o::status.ne(OutboxStatus::Sent))
        .select(OutboxRow::as_select())
        .order(o::created_at.asc())
        .load(conn)
}

/// For the metrics: messages queued, messages given up, and when the oldest queued one was
/// created.
pub fn depth(conn: &mut DbConn) -> QueryResult<(i64, i64, Option<NaiveDateTime>)> {
    let queued = count_by_status(conn, OutboxStatus::Queued)?;
    let failed = count_by_status(conn, OutboxStatus::Failed)?;
    let oldest = o::table
        .filter(o::status.eq(OutboxStatus::Queued))
        .select(diesel::dsl::min(o::created_at))
        .first::<Option<NaiveDateTime>>(conn)?;
    Ok((queued, failed, oldest))
}
