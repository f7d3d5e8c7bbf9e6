//! One-year inactivity: an integration with no successful API request for 365 days (counting from
//! approval, or reactivation, if never used since) loses its credentials. Warnings go out 30 and
//! 7 days before. Exempt integrations are never touched.

use chrono::{Duration, NaiveDateTime};

use super::{days_until, Job, JobContext, Planned};
use crate::audit::{Actor, AuditEvent};
use crate::db::models::api_secrets;
use crate::db::models::developer_accounts as accounts;
use crate::db::models::integrations::{
    self, Integration, INACTIVITY_DAYS, INACTIVITY_FIRST_WARNING_DAYS, INACTIVITY_LAST_WARNING_DAYS,
};
use crate::db::DbConn;
use crate::email::messages::{InactivityWarning, IntegrationDeactivated};
use crate::email::outbox;

pub struct Inactivity;

pub enum Step {
    /// Stage 1 (30 days before) or 2 (7 days before).
    Warn(Integration, i32),
    Deactivate(Integration),
}

fn cutoff(now: NaiveDateTime, days_before: i64) -> NaiveDateTime {
    now - Duration::days(INACTIVITY_DAYS - days_before)
}

/// "2026-01-05" or "its approval on 2026-01-05".
fn last_activity(i: &Integration) -> String {
    let day = i.activity_at.format("%Y-%m-%d");
    match i.last_used_at {
        Some(used) if used >= i.activity_at => day.to_string(),
        _ => format!("it was approved or reactivated on {day}"),
    }
}

impl Job for Inactivity {
    const NAME: &'static str = "inactivity";
    type Step = Step;

    fn plan(conn: &mut DbConn, ctx: &JobContext<'_>) -> anyhow::Result<Vec<Planned<Step>>> {
        let now = ctx.now;
        let mut plan = Vec::new();
        for i in integrations::inactivity_due(conn, now, super::PLAN_LIMIT)? {
            let since = i.activity_at.format("%Y-%m-%d");
            let revoke_on =
                (i.activity_at + Duration::days(INACTIVITY_DAYS)).format("%Y-%m-%d %H:%M UTC");
            // Each step needs the one before it, with its full notice: the first warning, 23 days
            // later the last, 7 days later the revocation (so an integration whose clock ran out
            // while exempt, or while the scheduler was off, still gets 30 days' notice).
            let warned_before = |days: i64| {
                i.inactivity_warned_at
                    .is_some_and(|w| w <= now - Duration::days(days))
            };
            let (kind, description, step) = if i.inactivity_stage == 0 {
                (
                    "warnings (30 days)",
                    format!(
                        "warn the owners of {} ({}): revoked on {revoke_on} unless used",
                        i.display_name, i.api_id
                    ),
                    Step::Warn(i, 1),
                )
            } else if i.inactivity_stage == 1
                && i.activity_at <= cutoff(now, INACTIVITY_LAST_WARNING_DAYS)
                && warned_before(INACTIVITY_FIRST_WARNING_DAYS - INACTIVITY_LAST_WARNING_DAYS)
            {
                (
                    "warnings (7 days)",
                    format!(
                        "warn the owners of {} ({}): revoked on {revoke_on} unless used",
                        i.display_name, i.api_id
                    ),
                    Step::Warn(i, 2),
                )
            } else if i.inactivity_stage == 2
                && i.activity_at <= cutoff(now, 0)
                && warned_before(INACTIVITY_LAST_WARNING_DAYS)
            {
                (
                    "credentials revoked",
                    format!(
                        "revoke the credentials of {} ({}): no successful request since {since}",
                        i.display_name, i.api_id
                    ),
                    Step::Deactivate(i),
                )
            } else {
                continue;
            };
            plan.push(Planned {
                kind,
                description,
                step,
            });
        }
        Ok(plan)
    }

    fn apply(conn: &mut DbConn, ctx: &JobContext<'_>, step: &Step) -> anyhow::Result<bool> {
        let now = ctx.now;
        match step {
            Step::Warn(i, stage) => {
                let days_before = if *stage == 2 {
                    INACTIVITY_LAST_WARNING_DAYS
                } else {
                    INACTIVITY_FIRST_WARNING_DAYS
                };
                if !integrations::mark_inactivity_warned(
                    conn,
                    &i.id,
                    *stage,
                    cutoff(now, days_before),
                    now,
                )? {
                    return Ok(false);
                }
                // Revocation comes at the end of the year, but never sooner than the notice.
                let notice = if *stage == 2 {
                    INACTIVITY_LAST_WARNING_DAYS
                } else {
                    INACTIVITY_FIRST_WARNING_DAYS
                };
                let deadline = (i.activity_at + Duration::days(INACTIVITY_DAYS))
                    .max(now + Duration::days(notice));
                // The activity time and the previous warning are in the key: after the clock
                // restarts, or an exemption ends, a later warning is a new message.
                outbox::enqueue_each(
                    accounts::owners(conn, &i.account_id)?,
                    conn,
                    &format!(
                        "inactivity-warning-{stage}:{}:{}:{}",
                        i.id,
                        i.activity_at.and_utc().timestamp(),
                        i.inactivity_warned_at
                            .map_or(0, |w| w.and_utc().timestamp())
                    ),
                    ctx.mail_at,
                    |name| InactivityWarning {
                        name,
                        app_name: i.display_name.clone(),
                        api_id: i.api_id.clone(),
                        last_activity: last_activity(i),
                        revoke_on: deadline.format("%Y-%m-%d %H:%M UTC").to_string(),
                        days_left: days_until(now, deadline),
                        link: ctx
                            .settings
                            .link(&format!("/developer/integrations/{}", i.id)),
                    },
                )?;
                Ok(true)
            }
            Step::Deactivate(i) => {
                integrations::lock(conn, &i.id)?;
                if !integrations::deactivate(conn, &i.id, cutoff(now, 0), now)? {
                    return Ok(false);
                }
                let secrets = api_secrets::revoke_all(conn, &i.id, now)?;
                outbox::enqueue_each(
                    accounts::owners(conn, &i.account_id)?,
                    conn,
                    &format!(
                        "inactivity-revoked:{}:{}",
                        i.id,
                        i.activity_at.and_utc().timestamp()
                    ),
                    ctx.mail_at,
                    |name| IntegrationDeactivated {
                        name,
                        app_name: i.display_name.clone(),
                        api_id: i.api_id.clone(),
                        last_activity: last_activity(i),
                        link: ctx
                            .settings
                            .link(&format!("/developer/integrations/{}", i.id)),
                    },
                )?;
                // Every instance drops the integration's cached credentials on commit.
                crate::gateway::Change::Integration(i.id.clone()).announce(conn)?;
                AuditEvent::new("integration.deactivated", Actor::System(Self::NAME))
                    .target("integration", &i.id)
                    .details(serde_json::json!({
                        "api_id": i.api_id,
                        "inactive_since": i.activity_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                        "secrets_revoked": secrets,
                    }))
                    .record(conn, now)?;
                Ok(true)
            }
        }
    }

    fn after_commit(ctx: &JobContext<'_>, step: &Step) {
        if let (Some(api), Step::Deactivate(i)) = (ctx.api, step) {
            api.invalidate_integration(&i.id);
        }
    }
}
