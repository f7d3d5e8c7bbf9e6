//! Scheduled jobs: ConCat's lifecycle rules, enforced safely any number of times.
//!
//! Each job *plans* (one read of the due rows only) and then *applies* each planned step in its
//! own write transaction. A step starts with a guarded state transition (`UPDATE … WHERE` the
//! row is still in the state the plan saw) and queues its emails with dedup keys in the same
//! transaction, so running a job twice, in two processes at once, or again after a crash
//! half-way, does every step and sends every email exactly once. `--dry-run` prints the plan and
//! writes nothing. On PostgreSQL a job also holds a session advisory lock while it runs, so
//! several instances may run the scheduler; a second one skips the job.
//!
//! Time is the caller's `now` (the injectable clock, or `jobs run --as-of`); the emails a step
//! queues are due at `mail_at`, the real time, whatever `now` simulates.

pub mod duties;
pub mod inactivity;
pub mod purge;
pub mod retention;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::RunQueryDsl;

use crate::clock::SharedClock;
use crate::db::models::job_runs::{self, JobRun};
use crate::db::{new_id, write_tx, DbConn, Pool};
use crate::gateway::ApiRuntime;
use crate::settings::Settings;

/// At most this many steps per job and run; the rest wait for the next run.
pub const PLAN_LIMIT: i64 = 10_000;

/// What a job sees.
pub struct JobContext<'a> {
    pub settings: &'a Settings,
    /// The time the rules are applied at (the clock, or `jobs run --as-of`).
    pub now: NaiveDateTime,
    /// When the emails of this run's steps are due: the real time. A step done now is told now,
    /// even when `--as-of` simulates another time (the texts still use `now`'s dates).
    pub mail_at: NaiveDateTime,
    /// This process's API runtime, to drop cached credentials at once after a change (the
    /// command line has none: serving processes revalidate within 5 s).
    pub api: Option<&'a ApiRuntime>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Apply,
    DryRun,
}

pub use crate::db::models::job_runs::{Outcome, Trigger};

/// One step a job plans: what it counts as, what it says, and what it does.
pub struct Planned<S> {
    pub kind: &'static str,
    pub description: String,
    pub step: S,
}

pub trait Job {
    const NAME: &'static str;
    type Step;
    /// The due steps at `ctx.now` (reads only).
    fn plan(conn: &mut DbConn, ctx: &JobContext<'_>) -> anyhow::Result<Vec<Planned<Self::Step>>>;
    /// Applies one step inside a write transaction; false when the row moved on meanwhile (another
    /// run did it, or the developer acted), in which case nothing was written.
    fn apply(conn: &mut DbConn, ctx: &JobContext<'_>, step: &Self::Step) -> anyhow::Result<bool>;
    /// After the step's commit (in-memory effects such as cache invalidation).
    fn after_commit(_ctx: &JobContext<'_>, _step: &Self::Step) {}
}

/// What one job run did.
#[derive(Debug, Clone)]
pub struct JobReport {
    pub job: &'static str,
    pub outcome: Outcome,
    /// Steps done (or, in a dry run, planned), by kind.
    pub counts: BTreeMap<&'static str, u64>,
    /// One line per step done (or planned).
    pub actions: Vec<String>,
    pub duration: Duration,
    pub error: Option<String>,
    /// The plan hit `PLAN_LIMIT`: more is due and waits for the next run.
    pub more: bool,
}

impl JobReport {
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// `deletion-duties: ok, 2 reminders (7 days), 1 overdue` for the command line and logs.
    pub fn summary(&self) -> String {
        let mut s = format!("{}: {}", self.job, self.outcome.as_str());
        if self.counts.is_empty() {
            s.push_str(", nothing due");
        }
        for (kind, n) in &self.counts {
            s.push_str(&format!(", {n} {kind}"));
        }
        if self.more {
            s.push_str(" (more due: the next run continues)");
        }
        if let Some(e) = &self.error {
            s.push_str(&format!(" — {e}"));
        }
        s
    }
}

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// PostgreSQL: try the job's session advisory lock. SQLite: one process runs jobs (and its write
/// transactions are serialized anyway), so there is nothing to take.
fn try_lock(conn: &mut DbConn, job: &str) -> diesel::QueryResult<bool> {
    match conn {
        DbConn::Postgres(c) => {
            diesel::sql_query("SELECT pg_try_advisory_lock(hashtext($1)) AS locked")
                .bind::<diesel::sql_types::Text, _>(format!("job:{job}"))
                .get_result::<Locked>(c)
                .map(|l| l.locked)
        }
        DbConn::Sqlite(_) => Ok(true),
    }
}

fn unlock(conn: &mut DbConn, job: &str) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Postgres(c) => {
            diesel::sql_query("SELECT pg_advisory_unlock(hashtext($1)) AS locked")
                .bind::<diesel::sql_types::Text, _>(format!("job:{job}"))
                .get_result::<Locked>(c)
                .map(|_| ())
        }
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// Runs one job (plan, then each step in its own transaction) and records the run.
pub fn run_job<J: Job>(
    conn: &mut DbConn,
    ctx: &JobContext<'_>,
    mode: Mode,
    trigger: Trigger,
) -> JobReport {
    let started = Instant::now();
    let mut report = JobReport {
        job: J::NAME,
        outcome: Outcome::Ok,
        counts: BTreeMap::new(),
        actions: Vec::new(),
        duration: Duration::ZERO,
        error: None,
        more: false,
    };
    match try_lock(conn, J::NAME) {
        Ok(true) => {
            if let Err(e) = steps::<J>(conn, ctx, mode, &mut report) {
                report.outcome = Outcome::Failed;
                report.error = Some(format!("{e:#}"));
            }
            if let Err(e) = unlock(conn, J::NAME) {
                tracing::error!(job = J::NAME, error = %e, "releasing the job lock failed");
            }
        }
        Ok(false) => report.outcome = Outcome::Skipped,
        Err(e) => {
            report.outcome = Outcome::Failed;
            report.error = Some(format!("taking the job lock: {e}"));
        }
    }
    report.duration = started.elapsed();
    if mode == Mode::Apply {
        let run = JobRun {
            id: new_id(),
            job: J::NAME.to_string(),
            trigger,
            as_of: ctx.now,
            duration_ms: i64::try_from(report.duration.as_millis()).unwrap_or(i64::MAX),
            outcome: report.outcome,
            counts: serde_json::to_string(&report.counts).unwrap_or_else(|_| "{}".into()),
            error: report.error.clone(),
            // Wall time, so the Jobs page orders runs as they happened (`as_of` is the clock's).
            finished_at: chrono::Utc::now().naive_utc(),
        };
        if let Err(e) = write_tx(conn, |c| job_runs::insert(c, &run)) {
            tracing::error!(job = J::NAME, error = %e, "recording the job run failed");
        }
    }
    match report.outcome {
        Outcome::Failed => {
            tracing::error!(job = J::NAME, summary = %report.summary(), "job failed")
        }
        _ if report.total() > 0 => {
            tracing::info!(job = J::NAME, summary = %report.summary(), "job ran")
        }
        _ => tracing::debug!(job = J::NAME, summary = %report.summary(), "job ran"),
    }
    report
}

fn steps<J: Job>(
    conn: &mut DbConn,
    ctx: &JobContext<'_>,
    mode: Mode,
    report: &mut JobReport,
) -> anyhow::Result<()> {
    let plan = J::plan(conn, ctx)?;
    report.more = plan.len() as i64 >= PLAN_LIMIT;
    let mut failures = Vec::new();
    for planned in plan {
        let done = match mode {
            Mode::DryRun => true,
            // One step failing (it rolled back) must not hold up the others: count it, go on,
            // and fail the run so the next one retries it.
            Mode::Apply => match write_tx(conn, |c| J::apply(c, ctx, &planned.step)) {
                Ok(done) => {
                    if done {
                        J::after_commit(ctx, &planned.step);
                    }
                    done
                }
                Err(e) => {
                    tracing::error!(job = J::NAME, step = %planned.description, error = %format!("{e:#}"), "a job step failed");
                    failures.push(format!("{}: {e:#}", planned.description));
                    false
                }
            },
        };
        if done {
            *report.counts.entry(planned.kind).or_default() += 1;
            report.actions.push(planned.description);
        }
    }
    if !failures.is_empty() {
        *report.counts.entry("failed steps").or_default() += failures.len() as u64;
        anyhow::bail!("{} step(s) failed; first: {}", failures.len(), failures[0]);
    }
    Ok(())
}

/// Every job once, in order: deletion duties, usage purge, inactivity, usage retention.
pub fn run_all(
    conn: &mut DbConn,
    ctx: &JobContext<'_>,
    mode: Mode,
    trigger: Trigger,
) -> Vec<JobReport> {
    vec![
        run_job::<duties::DeletionDuties>(conn, ctx, mode, trigger),
        run_job::<purge::UsagePurge>(conn, ctx, mode, trigger),
        run_job::<inactivity::Inactivity>(conn, ctx, mode, trigger),
        run_job::<retention::UsageRetention>(conn, ctx, mode, trigger),
    ]
}

/// The job names, for the admin Jobs page.
pub const JOBS: [&str; 4] = [
    duties::DeletionDuties::NAME,
    purge::UsagePurge::NAME,
    inactivity::Inactivity::NAME,
    retention::UsageRetention::NAME,
];

/// `run_all` on the blocking pool with a pooled connection, at `now`.
/// "Run jobs now" on the Jobs page: every job at once, as the scheduler would, then one audit
/// entry by the ConCat admin who asked, with the summary of the runs.
pub async fn run_all_requested(
    pool: &Pool,
    settings: Arc<Settings>,
    api: Arc<ApiRuntime>,
    rc: crate::context::RequestContext,
) -> anyhow::Result<Vec<JobReport>> {
    let now = rc.now;
    let reports = run_all_pooled(
        pool,
        settings,
        now,
        Some(api),
        Mode::Apply,
        Trigger::Command,
    )
    .await?;
    let summary = reports
        .iter()
        .map(|r| r.summary())
        .collect::<Vec<_>>()
        .join("; ");
    crate::db::transaction(pool, move |c| {
        rc.ctx()
            .audit("jobs.run")
            .details(serde_json::json!({ "summary": summary }))
            .record(c, now)?;
        Ok(())
    })
    .await?;
    Ok(reports)
}

pub async fn run_all_pooled(
    pool: &Pool,
    settings: Arc<Settings>,
    now: NaiveDateTime,
    api: Option<Arc<ApiRuntime>>,
    mode: Mode,
    trigger: Trigger,
) -> anyhow::Result<Vec<JobReport>> {
    // Requests counted in memory but not yet written count as use.
    if let Some(api) = &api {
        if mode == Mode::Apply {
            api.flush(pool).await?;
        }
    }
    let metrics = api.as_ref().map(|a| a.metrics.clone());
    let reports = crate::db::run(pool, move |c| {
        let ctx = JobContext {
            settings: &settings,
            now,
            // The scheduler and the Jobs page run at the clock's now.
            mail_at: now,
            api: api.as_deref(),
        };
        Ok(run_all(c, &ctx, mode, trigger))
    })
    .await?;
    if let (Some(m), Mode::Apply) = (metrics, mode) {
        for r in &reports {
            m.job_ran(r.job, r.outcome.as_str(), r.duration);
        }
    }
    Ok(reports)
}

/// The scheduler in `serve`: every job every `every`, the first run right at start.
pub async fn schedule_until_stopped(
    pool: Pool,
    settings: Arc<Settings>,
    clock: SharedClock,
    api: Arc<ApiRuntime>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let now = clock.now_naive();
                if let Err(e) = run_all_pooled(&pool, settings.clone(), now, Some(api.clone()), Mode::Apply, Trigger::Scheduler).await {
                    tracing::error!(error.cause_chain = ?e, "running the scheduled jobs failed; will retry");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

pub use crate::clock::days_until;
