//! The login brute-force limit: after 10 failures within 15 minutes for one account or from one
//! client address, further attempts are refused (without checking the password) until the
//! oldest of those failures leaves the window. At most 100 failures per account per hour are
//! recorded, so the table cannot be flooded and the check reads a bounded number of rows.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::db::models::login_failures;
use crate::db::DbConn;

pub const WINDOW: chrono::Duration = chrono::Duration::minutes(15);
pub const MAX_FAILURES: usize = 10;
pub const ACCOUNT_HOURLY_CAP: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    Open,
    /// Locked; the next attempt is possible in this many whole minutes (at least 1).
    Locked {
        minutes: i64,
    },
}

fn unlock_at(failures: &[NaiveDateTime]) -> Option<NaiveDateTime> {
    // Newest first: once the 10th newest failure is older than the window, attempts reopen.
    failures.get(MAX_FAILURES - 1).map(|t| *t + WINDOW)
}

pub fn check(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    now: NaiveDateTime,
) -> QueryResult<Throttle> {
    let since = now - WINDOW;
    let by_account = login_failures::recent_for_email(conn, email, since, MAX_FAILURES as i64)?;
    let by_address = login_failures::recent_for_ip(conn, ip, since, MAX_FAILURES as i64)?;
    let until = [unlock_at(&by_account), unlock_at(&by_address)]
        .into_iter()
        .flatten()
        .max();
    Ok(match until {
        Some(t) if t > now => {
            let secs = (t - now).num_seconds();
            Throttle::Locked {
                minutes: ((secs + 59) / 60).max(1),
            }
        }
        _ => Throttle::Open,
    })
}

pub fn record_failure(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let last_hour = login_failures::recent_for_email(
        conn,
        email,
        now - chrono::Duration::hours(1),
        ACCOUNT_HOURLY_CAP,
    )?;
    if (last_hour.len() as i64) < ACCOUNT_HOURLY_CAP {
        login_failures::record(conn, email, ip, now)?;
    }
    Ok(())
}

pub fn record_success(conn: &mut DbConn, email: &str) -> QueryResult<()> {
    login_failures::clear_for_email(conn, email).map(|_| ())
}
