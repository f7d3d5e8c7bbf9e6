//! Time comes from here, never from `Utc::now()` in domain code, so tests and `jobs run --as-of`
//! can move it.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// The current time as stored in the database (UTC, no offset).
    fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (tests, `--as-of`).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().expect("clock lock") = to;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.now.lock().expect("clock lock");
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock lock")
    }
}

/// Whole days left until `deadline`, rounded up (a reminder sent an hour late still says 7, and a
/// countdown says "1 day" until the very end); 0 once it has passed.
pub fn days_until(now: NaiveDateTime, deadline: NaiveDateTime) -> i64 {
    let secs = (deadline - now).num_seconds().max(0);
    (secs + 86_399) / 86_400
}

/// Formats a stored UTC time for display (pages and emails).
pub fn when(t: &chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
