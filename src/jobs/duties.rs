//! The 30-day deletion duty: reminders 7 days and 1 day before the deadline, and at the deadline
//! (without a confirmed deletion) the duty becomes overdue — the developer account's owners and
//! every ConCat admin are told.

use chrono::Duration;

use super::{days_until, Job, JobContext, Planned};
use crate::audit::{Actor, AuditEvent};
use crate::db::models::authorizations::{
    self as auths, DutyRow, STAGE_OVERDUE, STAGE_REMINDED_1D, STAGE_REMINDED_7D,
};
use crate::db::models::{developer_accounts as accounts, users};
use crate::db::DbConn;
use crate::email::messages::{DeletionOverdue, DeletionOverdueAdmin, DeletionReminder};
use crate::email::outbox;

pub struct DeletionDuties;

pub struct DutyStep {
    pub row: DutyRow,
    pub stage: i32,
}

fn format_deadline(t: &chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl Job for DeletionDuties {
    const NAME: &'static str = "deletion-duties";
    type Step = DutyStep;

    fn plan(conn: &mut DbConn, ctx: &JobContext<'_>) -> anyhow::Result<Vec<Planned<DutyStep>>> {
        let now = ctx.now;
        let mut plan = Vec::new();
        for row in auths::duties_due(conn, now, super::PLAN_LIMIT)? {
            let Some(due) = row.0.deletion_due_at else {
                continue;
            };
            let stage = if now >= due {
                STAGE_OVERDUE
            } else if now >= due - Duration::days(1) {
                STAGE_REMINDED_1D
            } else if now >= due - Duration::days(7) {
                STAGE_REMINDED_7D
            } else {
                continue;
            };
            if stage <= row.0.duty_stage {
                continue;
            }
            let (a, o, i, company) = &row;
            let (kind, what) = match stage {
                STAGE_OVERDUE => ("overdue", "mark overdue, tell the owners and ConCat admins"),
                STAGE_REMINDED_1D => ("reminders (1 day)", "remind the owners (1 day left)"),
                _ => ("reminders (7 days)", "remind the owners (7 days left)"),
            };
            plan.push(Planned {
                kind,
                description: format!(
                    "{what}: {company} · {} must delete the data of {} ({}) by {} [authorization {}]",
                    i.display_name,
                    o.name,
                    o.public_id,
                    format_deadline(&due),
                    a.id
                ),
                step: DutyStep { row, stage },
            });
        }
        Ok(plan)
    }

    fn apply(conn: &mut DbConn, ctx: &JobContext<'_>, step: &DutyStep) -> anyhow::Result<bool> {
        let (a, o, i, company) = &step.row;
        let now = ctx.now;
        if !auths::advance_duty(conn, &a.id, step.stage, now)? {
            return Ok(false);
        }
        let due = a.deletion_due_at.unwrap_or(now);
        let deadline = format_deadline(&due);
        let link = ctx
            .settings
            .link(&format!("/developer/integrations/{}", i.id));
        let owners = accounts::owners(conn, &i.account_id)?;
        if step.stage < STAGE_OVERDUE {
            outbox::enqueue_each(
                owners,
                conn,
                &format!("deletion-reminder-{}:{}", step.stage, a.id),
                ctx.mail_at,
                |name| DeletionReminder {
                    name,
                    app_name: i.display_name.clone(),
                    org_name: o.name.clone(),
                    org_public_id: o.public_id.clone(),
                    deadline: deadline.clone(),
                    days_left: days_until(now, due).max(1),
                    link: link.clone(),
                },
            )?;
            return Ok(true);
        }
        outbox::enqueue_each(
            owners,
            conn,
            &format!("deletion-overdue:{}", a.id),
            ctx.mail_at,
            |name| DeletionOverdue {
                name,
                app_name: i.display_name.clone(),
                org_name: o.name.clone(),
                org_public_id: o.public_id.clone(),
                deadline: deadline.clone(),
                link: link.clone(),
            },
        )?;
        outbox::enqueue_each(
            users::admin_emails(conn)?,
            conn,
            &format!("deletion-overdue-admin:{}", a.id),
            ctx.mail_at,
            |name| DeletionOverdueAdmin {
                name,
                company_name: company.clone(),
                app_name: i.display_name.clone(),
                org_name: o.name.clone(),
                deadline: deadline.clone(),
                link: ctx.settings.link("/admin/compliance?state=overdue"),
            },
        )?;
        AuditEvent::new("deletion.overdue", Actor::System(Self::NAME))
            .target("authorization", &a.id)
            .details(serde_json::json!({
                "organization": o.public_id,
                "integration": i.id,
                "api_id": i.api_id,
                "deadline": deadline,
            }))
            .record(conn, now)?;
        Ok(true)
    }
}
