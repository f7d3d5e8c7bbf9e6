//! Delivers queued outbox messages with retries and exponential backoff. Each message is leased
//! (`locked_until`) before sending, so several dispatchers — in one process or many — never send
//! one message twice; a crash mid-send only delays it until the lease runs out.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use tokio::sync::{watch, Notify};

use super::transport::FailureKind;
use super::Mailer;
use crate::clock::SharedClock;
use crate::db::models::outbox;
use crate::db::{self, Pool};
use crate::settings::OutboxSettings;

/// How long a claimed message stays reserved for the dispatcher that claimed it.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
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

    /// Sends every message that is due now (bounded per call) and returns what happened.
    pub async fn run_once(&self) -> anyhow::Result<DispatchReport> {
        let mut report = DispatchReport::default();
        let mut handled = 0usize;
        loop {
            let now = self.clock.now_naive();
            let ids = db::run(&self.pool, move |c| Ok(outbox::due(c, now, BATCH)?)).await?;
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
                    }
                    Err(error) => {
                        let retry = error.kind != FailureKind::Permanent
                            && row.attempts < self.settings.max_attempts;
                        let next =
                            retry.then(|| self.clock.now_naive() + self.backoff(row.attempts));
                        let error = error.message;
                        tracing::warn!(outbox_id = %row.id, kind = %row.kind, attempts = row.attempts, %error, "email delivery failed");
                        db::run(&self.pool, move |c| {
                            Ok(outbox::mark_attempt_failed(c, &id, &error, next)?)
                        })
                        .await?;
                        report.failed_attempts += 1;
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
