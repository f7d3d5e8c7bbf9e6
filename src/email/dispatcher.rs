//! Delivers queued outbox messages. Each message is leased (`locked_until`) before sending, so
//! several dispatchers — in one process or many — never send one message twice; a crash
//! mid-send only delays it until the lease runs out.
//!
//! What a failure does depends on its kind (`FailureKind`):
//! - the mail server is unreachable: the pass stops there, and the dispatcher is in an *outage*:
//!   it tries one message (a probe) every `PROBE_INTERVAL` and nothing else. Once a probe gets an
//!   answer from the server, every message that was waiting for it is due at once and sent in
//!   the same pass. These failures never use up attempts, so no mail is dropped however long
//!   the outage;
//! - a 4xx reply for the message: retried with exponential backoff (30 s … 1 h), not counted;
//! - permanent (an invalid address, a 5xx reply for the recipient or message): failed at once;
//! - anything else: backoff, counted; failed after `PORTAL_OUTBOX_MAX_ATTEMPTS` of them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;

use lettre::message::Mailbox;
use tokio::sync::{watch, Notify};

use super::transport::{FailureKind, SendError};
use super::Mailer;
use crate::clock::SharedClock;
use crate::db::models::outbox::{self, OutboxRow};
use crate::db::{self, Pool};
use crate::settings::OutboxSettings;

/// How long a claimed message stays reserved for the dispatcher that claimed it.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// While the mail server is unreachable, one message is tried this often.
pub const PROBE_INTERVAL: chrono::Duration = chrono::Duration::seconds(30);
/// Upper bound on messages handled in one pass (the next pass continues).
const BATCH: i64 = 50;
const MAX_PER_RUN: usize = 500;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchReport {
    pub sent: usize,
    pub failed_attempts: usize,
}

#[derive(Clone)]
pub struct Dispatcher {
    pool: Pool,
    mailer: Arc<Mailer>,
    clock: SharedClock,
    from: Mailbox,
    settings: OutboxSettings,
    wake: Arc<Notify>,
    /// Set while the mail server is unreachable (shared by this dispatcher's clones).
    outage: Arc<Mutex<Option<Outage>>>,
    /// Whether the first pass has looked for messages left waiting for the server (by an
    /// earlier process): if there are any, that pass starts with a probe.
    resumed: Arc<AtomicBool>,
}

/// The mail server could not be reached: since when, and when to try one message again.
#[derive(Debug, Clone, Copy)]
struct Outage {
    since: NaiveDateTime,
    next_probe_at: NaiveDateTime,
}

impl Dispatcher {
    pub fn new(
        pool: Pool,
        mailer: Arc<Mailer>,
        clock: SharedClock,
        from: Mailbox,
        settings: OutboxSettings,
    ) -> Self {
        Self {
            pool,
            mailer,
            clock,
            from,
            settings,
            wake: Arc::new(Notify::new()),
            outage: Arc::new(Mutex::new(None)),
            resumed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A handle that makes the background loop look at the outbox now (after a commit).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    fn backoff(&self, attempts: i32) -> chrono::Duration {
        let base = chrono::Duration::from_std(self.settings.base_backoff)
            .unwrap_or(chrono::Duration::seconds(30));
        let factor = 2i32.saturating_pow(attempts.saturating_sub(1).clamp(0, 16) as u32);
        std::cmp::min(base * factor, chrono::Duration::hours(1))
    }

    /// Whether the mail server was unreachable at the last attempt (and not answered since).
    pub fn in_outage(&self) -> bool {
        self.outage.lock().expect("outage lock").is_some()
    }

    /// The server answered: end an outage, and make every message that waited for it due now.
    async fn server_answered(&self) -> anyhow::Result<()> {
        let Some(outage) = self.outage.lock().expect("outage lock").take() else {
            return Ok(());
        };
        let now = self.clock.now_naive();
        let released = db::run(&self.pool, move |c| Ok(outbox::release_waiting(c, now)?)).await?;
        tracing::info!(
            unreachable_since = %outage.since,
            released,
            "the mail server answers again; sending every waiting message"
        );
        Ok(())
    }

    /// Sends every message that is due now (bounded per call) and returns what happened. While
    /// the mail server is unreachable it tries only one message per `PROBE_INTERVAL`.
    pub async fn run_once(&self) -> anyhow::Result<DispatchReport> {
        let mut report = DispatchReport::default();
        let mut handled = 0usize;
        if !self.resumed.swap(true, Ordering::SeqCst) {
            // After a restart during an outage: probe first, then release the waiting mail.
            let waiting = db::run(&self.pool, |c| Ok(outbox::count_waiting_for_server(c)?)).await?;
            if waiting > 0 {
                let now = self.clock.now_naive();
                let mut outage = self.outage.lock().expect("outage lock");
                outage.get_or_insert(Outage {
                    since: now,
                    next_probe_at: now,
                });
            }
        }
        loop {
            let now = self.clock.now_naive();
            let outage = *self.outage.lock().expect("outage lock");
            let probing = match outage {
                Some(o) if now < o.next_probe_at => return Ok(report),
                Some(_) => true,
                None => false,
            };
            let limit = if probing { 1 } else { BATCH };
            let ids = db::run(&self.pool, move |c| Ok(outbox::due(c, now, limit)?)).await?;
            if ids.is_empty() {
                break;
            }
            let mut progressed = false;
            for id in ids {
                let now = self.clock.now_naive();
                let claim_id = id.clone();
                let claimed = db::run(&self.pool, move |c| {
                    Ok(outbox::claim(c, &claim_id, now, now + LEASE)?)
                })
                .await?;
                let Some(row) = claimed else { continue };
                progressed = true;
                handled += 1;
                match self.mailer.send(&self.from, &row).await {
                    Ok(()) => {
                        self.record_sent(&id).await?;
                        tracing::info!(outbox_id = %row.id, kind = %row.kind, "email delivered");
                        report.sent += 1;
                        self.server_answered().await?;
                    }
                    Err(error) => {
                        report.failed_attempts += 1;
                        let stop = self.record_failure(&row, error).await?;
                        if stop {
                            return Ok(report);
                        }
                    }
                }
                if handled >= MAX_PER_RUN {
                    return Ok(report);
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(report)
    }

    /// Records a failed attempt as its kind says; true when the pass must stop (the server is
    /// unreachable, or a probe got no usable answer).
    async fn record_failure(&self, row: &OutboxRow, error: SendError) -> anyhow::Result<bool> {
        let now = self.clock.now_naive();
        let kind = error.kind;
        let (counted, next, stop) = match kind {
            FailureKind::Unreachable => {
                let mut outage = self.outage.lock().expect("outage lock");
                let since = outage.map_or(now, |o| o.since);
                if outage.is_none() {
                    tracing::warn!(error = %error, "the mail server is unreachable; trying one message every {} s until it answers", PROBE_INTERVAL.num_seconds());
                }
                *outage = Some(Outage {
                    since,
                    next_probe_at: now + PROBE_INTERVAL,
                });
                (false, Some(now + PROBE_INTERVAL), true)
            }
            FailureKind::Deferred => {
                self.server_answered().await?;
                (false, Some(now + self.backoff(row.attempts)), false)
            }
            FailureKind::Permanent => {
                self.server_answered().await?;
                (true, None, false)
            }
            FailureKind::Other => {
                let counted = row.counted_failures + 1;
                let retry = counted < self.settings.max_attempts;
                let next = retry.then(|| now + self.backoff(counted));
                // A probe that got no usable answer leaves the outage as it is.
                let probing = {
                    let mut outage = self.outage.lock().expect("outage lock");
                    if let Some(o) = outage.as_mut() {
                        o.next_probe_at = now + PROBE_INTERVAL;
                    }
                    outage.is_some()
                };
                (true, next, probing)
            }
        };
        tracing::warn!(outbox_id = %row.id, kind = %row.kind, attempts = row.attempts, failure = kind.as_str(), error = %error, "email delivery failed");
        let (id, message) = (row.id.clone(), error.message);
        db::run(&self.pool, move |c| {
            let failure = outbox::Failure {
                error: &message,
                kind,
                counted,
                next_attempt_at: next,
            };
            Ok(outbox::record_failure(c, &id, &failure)?)
        })
        .await?;
        Ok(stop)
    }

    /// Records a delivery. A failure here would let the lease run out and send the message
    /// again, so it is retried (bounded: 5 tries over about 3 seconds) before giving up.
    async fn record_sent(&self, id: &str) -> anyhow::Result<()> {
        let mut last = None;
        for attempt in 0..5u32 {
            let (owned, now) = (id.to_string(), self.clock.now_naive());
            match db::run(&self.pool, move |c| Ok(outbox::mark_sent(c, &owned, now)?)).await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    tracing::warn!(outbox_id = %id, error = ?e, attempt, "recording a delivery failed");
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
                }
            }
        }
        Err(last.expect("at least one attempt"))
    }

    /// The background loop of `serve`: a pass every poll interval or when woken, until `stop`.
    pub async fn run_until_stopped(self, mut stop: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.run_once().await {
                tracing::error!(error = ?e, "outbox dispatch pass failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = self.wake.notified() => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
    }
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("mailer", &self.mailer)
            .finish_non_exhaustive()
    }
}

/// How long `serve` waits for an in-flight pass at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
