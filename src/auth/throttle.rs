//! The login brute-force limit: after 10 failures within 15 minutes for one account or from one
//! client address, further attempts are refused (without checking the password) until the
//! oldest of those failures leaves the window. At most 100 failures per account per hour are
//! recorded, so the table cannot be flooded and the check reads a bounded number of rows.
//!
//! `admit` checks and *reserves* a failure in one serialized write transaction, before the
//! password is hashed; a successful sign-in releases it. So parallel guesses cannot all pass
//! the check before any of them is counted.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::db::models::login_failures;
use crate::db::{lock_key, DbConn};

pub const WINDOW: chrono::Duration = chrono::Duration::minutes(15);
pub const MAX_FAILURES: usize = 10;
pub const ACCOUNT_HOURLY_CAP: i64 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// The attempt may go ahead; it already counts as a failure until `release`d.
    Open { reservation: Option<String> },
    /// Locked; the next attempt is possible in this many whole minutes (at least 1).
    Locked { minutes: i64 },
}

fn unlock_at(failures: &[NaiveDateTime]) -> Option<NaiveDateTime> {
    // Newest first: once the 10th newest failure is older than the window, attempts reopen.
    failures.get(MAX_FAILURES - 1).map(|t| *t + WINDOW)
}

/// Checks the limit for `email` (normalized) and `ip`, and reserves a failure when open.
/// Call inside a write transaction (`db::transaction`).
pub fn admit(conn: &mut DbConn, email: &str, ip: &str, now: NaiveDateTime) -> QueryResult<Gate> {
    lock_key(conn, &format!("login:email:{email}"))?;
    lock_key(conn, &format!("login:ip:{ip}"))?;
    let since = now - WINDOW;
    let by_account = login_failures::recent_for_email(conn, email, since, MAX_FAILURES as i64)?;
    admit_checked(conn, email, ip, by_account, now)
}

/// An attempt with something that cannot be an account's email: it is checked against, and
/// counts as a failure for, the client address only (there is no account to lock).
pub fn admit_address(conn: &mut DbConn, ip: &str, now: NaiveDateTime) -> QueryResult<Gate> {
    lock_key(conn, &format!("login:ip:{ip}"))?;
    admit_checked(conn, MALFORMED_EMAIL, ip, Vec::new(), now)
}

/// What failures with a malformed email are recorded under (never a normalized email).
const MALFORMED_EMAIL: &str = "";

fn admit_checked(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    by_account: Vec<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<Gate> {
    let since = now - WINDOW;
    let by_address = login_failures::recent_for_ip(conn, ip, since, MAX_FAILURES as i64)?;
    let until = [unlock_at(&by_account), unlock_at(&by_address)]
        .into_iter()
        .flatten()
        .max();
    if let Some(t) = until.filter(|t| *t > now) {
        let secs = (t - now).num_seconds();
        return Ok(Gate::Locked {
            minutes: ((secs + 59) / 60).max(1),
        });
    }
    let last_hour = if email == MALFORMED_EMAIL {
        Vec::new()
    } else {
        login_failures::recent_for_email(
            conn,
            email,
            now - chrono::Duration::hours(1),
            ACCOUNT_HOURLY_CAP,
        )?
    };
    let reservation = if (last_hour.len() as i64) < ACCOUNT_HOURLY_CAP {
        Some(login_failures::record(conn, email, ip, now)?)
    } else {
        None
    };
    Ok(Gate::Open { reservation })
}

/// An attempt that was never judged (the server was too busy to check the password): its
/// reserved failure is withdrawn, so being turned away does not count against the account.
pub fn withdraw(conn: &mut DbConn, reservation: &str) -> QueryResult<()> {
    login_failures::delete(conn, reservation).map(|_| ())
}

/// A successful sign-in: the reservation is withdrawn and the account's failures are cleared
/// (the address's other failures stay).
pub fn release(conn: &mut DbConn, email: &str) -> QueryResult<()> {
    login_failures::clear_for_email(conn, email).map(|_| ())
}
