use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::outbox as o;
use crate::db::DbConn;

pub const QUEUED: &str = "queued";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";

/// `failure_kind` of a message whose last attempt could not reach the mail server: it waits for
/// the server, and is released at once when the dispatcher's probe gets through.
pub const UNREACHABLE: &str = "unreachable";

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
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// Kind of the last failed attempt (`unreachable`, `deferred`, `permanent`, `error`).
    pub failure_kind: Option<String>,
    /// Failed attempts that count toward the limit (not those of an unreachable server or 4xx).
    pub counted_failures: i32,
}

impl OutboxRow {
    /// Queued because the mail server could not be reached at its last attempt.
    pub fn waits_for_server(&self) -> bool {
        self.status == QUEUED && self.failure_kind.as_deref() == Some(UNREACHABLE)
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
    pub status: &'a str,
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
        .filter(o::status.eq(QUEUED))
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
            .filter(o::status.eq(QUEUED))
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
            o::status.eq(SENT),
            o::body_text.eq(DELIVERED_BODY),
            o::body_html.eq(DELIVERED_BODY),
            o::sent_at.eq(now),
            o::locked_until.eq(None::<NaiveDateTime>),
            o::last_error.eq(None::<String>),
            o::failure_kind.eq(None::<String>),
        ))
        .execute(conn)
}

/// A failed attempt, as recorded.
#[derive(Debug, Clone)]
pub struct Failure<'a> {
    pub error: &'a str,
    /// `FailureKind::as_str()` of the failure.
    pub kind: &'a str,
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
                o::status.eq(QUEUED),
                o::last_error.eq(error),
                o::failure_kind.eq(failure.kind),
                o::counted_failures.eq(counted),
                o::next_attempt_at.eq(next),
                o::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn),
        None => q
            .set((
                o::status.eq(FAILED),
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
            .filter(o::status.eq(QUEUED))
            .filter(o::failure_kind.eq(UNREACHABLE))
            .filter(o::next_attempt_at.gt(now)),
    )
    .set(o::next_attempt_at.eq(now))
    .execute(conn)
}

/// Queued messages whose last attempt found the mail server unreachable.
pub fn count_waiting_for_server(conn: &mut DbConn) -> QueryResult<i64> {
    o::table
        .filter(o::status.eq(QUEUED))
        .filter(o::failure_kind.eq(UNREACHABLE))
        .count()
        .get_result(conn)
}

/// "Retry now": a queued or failed message becomes due immediately, with a fresh attempt limit. Sent messages, and one a
/// dispatcher is sending right now (its lease has not run out), are left alone.
pub fn retry_now(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        o::table
            .find(id)
            .filter(o::status.ne(SENT))
            .filter(o::locked_until.is_null().or(o::locked_until.le(now))),
    )
    .set((
        o::status.eq(QUEUED),
        o::next_attempt_at.eq(now),
        o::locked_until.eq(None::<NaiveDateTime>),
        o::counted_failures.eq(0),
    ))
    .execute(conn)
}

pub fn count_by_status(conn: &mut DbConn, status: &str) -> QueryResult<i64> {
    o::table
        .filter(o::status.eq(status))
        .count()
        .get_result(conn)
}

pub fn page(
    conn: &mut DbConn,
    status: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<OutboxRow>, i64)> {
    let build = || {
        let mut q = o::table.into_boxed();
        if let Some(s) = status {
            q = q.filter(o::status.eq(s.to_string()));
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
        .filter(o::status.ne(SENT))
        .select(OutboxRow::as_select())
        .order(o::created_at.asc())
        .load(conn)
}
