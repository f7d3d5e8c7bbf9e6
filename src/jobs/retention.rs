//! What API usage costs to keep and to read: once a day the per-integration totals of the last
//! 30 days (`api_usage_totals`, what the admin overview reads) are recomputed from the daily
//! rollups, and raw counters older than `PORTAL_USAGE_RETENTION_DAYS` (default 400) are deleted,
//! a day per step. The daily rollups stay.

use chrono::NaiveDate;

use super::{Job, JobContext, Planned, PLAN_LIMIT};
use crate::db::models::api_usage;
use crate::db::DbConn;

/// The days the admin overview shows (today included).
pub const TOTALS_DAYS: i64 = 30;

pub struct UsageRetention;

pub enum Step {
    /// Recompute the totals over `from..=through`.
    Totals { from: NaiveDate, through: NaiveDate },
    /// Delete one day of raw counters.
    Detail { day: String },
}

impl Job for UsageRetention {
    const NAME: &'static str = "usage-retention";
    type Step = Step;

    fn plan(conn: &mut DbConn, ctx: &JobContext<'_>) -> anyhow::Result<Vec<Planned<Step>>> {
        let today = ctx.now.date();
        let mut plan = Vec::new();
        let from = today - chrono::Duration::days(TOTALS_DAYS - 1);
        let through = today - chrono::Duration::days(1);
        if api_usage::totals_window(conn)? != Some((from, through)) {
            plan.push(Planned {
                kind: "usage totals refreshed",
                description: format!(
                    "recompute every integration's usage totals for {from} to {through}"
                ),
                step: Step::Totals { from, through },
            });
        }
        let keep = i64::from(ctx.settings.jobs.usage_retention_days);
        let before = today - chrono::Duration::days(keep);
        for day in api_usage::detail_days_before(conn, before, PLAN_LIMIT)? {
            plan.push(Planned {
                kind: "usage detail days deleted",
                description: format!(
                    "delete the raw usage counters of {day} (older than {keep} days; the daily totals stay)"
                ),
                step: Step::Detail { day },
            });
        }
        Ok(plan)
    }

    fn apply(conn: &mut DbConn, _ctx: &JobContext<'_>, step: &Step) -> anyhow::Result<bool> {
        match step {
            Step::Totals { from, through } => {
                api_usage::refresh_totals(conn, *from, *through)?;
                Ok(true)
            }
            Step::Detail { day } => Ok(api_usage::delete_detail_day(conn, day)? > 0),
        }
    }
}
