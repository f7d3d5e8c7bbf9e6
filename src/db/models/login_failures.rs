use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::login_failures as lf;
use crate::db::{new_id, DbConn};

/// Failure times for an account since `since`, newest first, at most `limit` rows.
pub fn recent_for_email(
    conn: &mut DbConn,
    email: &str,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<NaiveDateTime>> {
    lf::table
        .filter(lf::email_normalized.eq(email))
        .filter(lf::failed_at.gt(since))
        .order(lf::failed_at.desc())
        .limit(limit)
        .select(lf::failed_at)
        .load(conn)
}

/// Failure times from a client address since `since`, newest first, at most `limit` rows.
pub fn recent_for_ip(
    conn: &mut DbConn,
    ip: &str,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<NaiveDateTime>> {
    lf::table
        .filter(lf::client_ip.eq(ip))
        .filter(lf::failed_at.gt(since))
        .order(lf::failed_at.desc())
        .limit(limit)
        .select(lf::failed_at)
        .load(conn)
}

/// Records a failure; returns its id.
pub fn record(conn: &mut DbConn, email: &str, ip: &str, now: NaiveDateTime) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(lf::table)
        .values((
            lf::id.eq(&id),
            lf::email_normalized.eq(email),
            lf::client_ip.eq(ip),
            lf::failed_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Removes one recorded failure (a reservation that was never judged).
pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(lf::table.filter(lf::id.eq(id))).execute(conn)
}

/// A successful login clears the account's failures (not the address's).
pub fn clear_for_email(conn: &mut DbConn, email: &str) -> QueryResult<usize> {
    diesel::delete(lf::table.filter(lf::email_normalized.eq(email))).execute(conn)
}

/// Housekeeping: failures older than `before` no longer matter.
pub fn delete_older_than(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(lf::table.filter(lf::failed_at.lt(before))).execute(conn)
}
