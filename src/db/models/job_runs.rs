//! The record of scheduled-job runs, for the admin Jobs page.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::job_runs as j;
use crate::db::DbConn;

crate::text_enum! {
    /// What started a run (`job_runs.trigger`).
    pub enum Trigger {
        Scheduler = "scheduler",
        Command = "command",
    }
}

crate::text_enum! {
    /// How a run ended (`job_runs.outcome`).
    pub enum Outcome {
        Ok = "ok",
        Failed = "failed",
        /// Another process held the job's lock.
        Skipped = "skipped",
    }
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = j)]
pub struct JobRun {
    pub id: String,
    pub job: String,
    pub trigger: Trigger,
    pub as_of: NaiveDateTime,
    pub duration_ms: i64,
    pub outcome: Outcome,
    /// JSON object of counts.
    pub counts: String,
    pub error: Option<String>,
    pub finished_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, run: &JobRun) -> QueryResult<()> {
    diesel::insert_into(j::table)
        .values(run)
        .execute(conn)
        .map(|_| ())
}

/// The latest run of `job`.
pub fn latest(conn: &mut DbConn, job: &str) -> QueryResult<Option<JobRun>> {
    j::table
        .filter(j::job.eq(job))
        .order((j::finished_at.desc(), j::id.desc()))
        .select(JobRun::as_select())
        .first(conn)
        .optional()
}

/// The most recent runs of every job, newest first.
pub fn recent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<JobRun>> {
    j::table
        .order((j::finished_at.desc(), j::id.desc()))
        .limit(limit)
        .select(JobRun::as_select())
        .load(conn)
}
