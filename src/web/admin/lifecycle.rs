//! Admin: the Jobs page (last runs, "run now"), the Compliance page (deletion duties by state,
//! account and organization; resolutions), the integrations list (inactivity exemption,
//! retirement) and the decisions on reactivation requests.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::db;
use crate::db::models::authorizations::{self as auths, DutyRow};
use crate::db::models::integrations::{self, Integration};
use crate::db::models::job_runs::{self, JobRun};
use crate::domain::{Note, NOTE_MAX};
use crate::errors::AppError;
use crate::jobs::{self};
use crate::lifecycle::{self, ReactivationError};
use crate::web::forms::{encode_query, filter_text, seek, when, Keyset, Position};
use crate::web::session::csrf::NoFields;
use crate::web::session::FlashLevel;
use crate::web::session::{AdminUser, CsrfForm};
use crate::web::shared::retirement::{retire_step, RetireForm, RetireFrom};
use crate::web::{redirect, render, render_with, PageContext};

// ---------------------------------------------------------------- Jobs

pub struct JobRow {
    pub name: &'static str,
    pub last: Option<JobRun>,
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    ctx: PageContext,
    jobs: Vec<JobRow>,
    recent: Vec<JobRun>,
    scheduler: bool,
    interval_secs: u64,
}

impl JobsPage {
    fn when(&self, t: &NaiveDateTime) -> String {
        when(t)
    }

    /// `{"overdue":1}` → `1 overdue`.
    fn counts(&self, json: &str) -> String {
        let map: BTreeMap<String, u64> = serde_json::from_str(json).unwrap_or_default();
        if map.is_empty() {
            return "nothing due".into();
        }
        map.iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub async fn jobs_page(admin: AdminUser) -> Result<HttpResponse, AppError> {
    let (jobs, recent) = db::run(&admin.viewer.state.pool, |c| {
        let mut rows = Vec::new();
        for name in jobs::JOBS {
            rows.push(JobRow {
                name,
                last: job_runs::latest(c, name)?,
            });
        }
        Ok((rows, job_runs::recent(c, 50)?))
    })
    .await?;
    let settings = &admin.viewer.state.settings;
    render(&JobsPage {
        ctx: admin.viewer.page("Jobs"),
        jobs,
        recent,
        scheduler: settings.jobs.scheduler_enabled,
        interval_secs: settings.jobs.interval.as_secs(),
    })
}

/// Runs every job now, as the scheduler would (audited).
pub async fn run_now(admin: AdminUser, _f: CsrfForm<NoFields>) -> Result<HttpResponse, AppError> {
    let state = admin.viewer.state.clone();
    let reports = jobs::run_all_requested(
        &state.pool,
        state.settings.clone(),
        state.api.clone(),
        admin.viewer.context.clone(),
    )
    .await?;
    let summary = reports
        .iter()
        .map(|r| r.summary())
        .collect::<Vec<_>>()
        .join("; ");
    if reports.iter().any(|r| r.outcome == jobs::Outcome::Failed) {
        admin.viewer.flash(
            FlashLevel::Error,
            format!("A job failed (the next run retries it): {summary}."),
        );
    } else {
        admin
            .viewer
            .flash(FlashLevel::Success, format!("Jobs ran: {summary}."));
    }
    Ok(redirect("/admin/jobs"))
}

// ---------------------------------------------------------------- Compliance

pub const DUTY_TABS: [(&str, &str); 5] = [
    ("unresolved", "Unresolved"),
    ("overdue", "Overdue"),
    ("open", "Open"),
    ("confirmed", "Confirmed"),
    ("all", "All"),
];

#[derive(Deserialize)]
pub struct ComplianceQuery {
    state: Option<String>,
    #[serde(default)]
    account: String,
    #[serde(default)]
    org: String,
}

/// Counts per account or organization.
#[derive(Default)]
pub struct Tally {
    pub open: u64,
    pub overdue: u64,
    pub confirmed: u64,
}

#[derive(Template)]
#[template(path = "admin/compliance.html")]
struct CompliancePage {
    ctx: PageContext,
    tab: String,
    tabs: [(&'static str, &'static str); 5],
    account: String,
    org: String,
    rows: Vec<DutyRow>,
    by_account: Vec<(String, String, Tally)>,
    by_org: Vec<(String, String, Tally)>,
    now: NaiveDateTime,
    note_max: usize,
}

impl CompliancePage {
    fn when(&self, t: &NaiveDateTime) -> String {
        when(t)
    }
}

fn tally<'a>(list: &'a mut Vec<(String, String, Tally)>, key: &str, label: &str) -> &'a mut Tally {
    let pos = match list.iter().position(|(k, _, _)| k == key) {
        Some(p) => p,
        None => {
            list.push((key.to_string(), label.to_string(), Tally::default()));
            list.len() - 1
        }
    };
    &mut list[pos].2
}

pub async fn compliance(
    admin: AdminUser,
    query: web::Query<ComplianceQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let tab = q
        .state
        .filter(|s| DUTY_TABS.iter().any(|(t, _)| t == s))
        .unwrap_or_else(|| "unresolved".into());
    let now = admin.viewer.context.now;
    let all = db::run(&admin.viewer.state.pool, |c| Ok(auths::all_duties(c)?)).await?;
    let (mut by_account, mut by_org) = (Vec::new(), Vec::new());
    for (a, o, i, company) in &all {
        let state = a.duty_state(&now);
        for t in [
            tally(&mut by_account, &i.account_id, company),
            tally(&mut by_org, &o.public_id, &o.name),
        ] {
            match state {
                "confirmed" => t.confirmed += 1,
                "overdue" => t.overdue += 1,
                _ => t.open += 1,
            }
        }
    }
    by_account.sort_by(|a, b| a.1.cmp(&b.1));
    by_org.sort_by(|a, b| a.1.cmp(&b.1));
    let rows = all
        .into_iter()
        .filter(|(a, o, i, _)| {
            let state = a.duty_state(&now);
            let in_tab = match tab.as_str() {
                "unresolved" => state != "confirmed",
                "open" => state == "pending",
                "all" => true,
                other => state == other,
            };
            in_tab
                && (q.account.is_empty() || i.account_id == q.account)
                && (q.org.is_empty() || o.public_id == q.org)
        })
        .collect();
    render(&CompliancePage {
        ctx: admin.viewer.page("Compliance"),
        tab,
        tabs: DUTY_TABS,
        account: q.account,
        org: q.org,
        rows,
        by_account,
        by_org,
        now,
        note_max: NOTE_MAX,
    })
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    note: String,
}

/// The note form again, with the admin's text and the error (nothing typed is lost).
#[derive(Template)]
#[template(path = "admin/note_form.html")]
struct NoteFormPage {
    ctx: PageContext,
    heading: String,
    explanation: String,
    action: String,
    label: &'static str,
    button: &'static str,
    hidden: Vec<(&'static str, String)>,
    note: String,
    error: Option<String>,
    note_max: usize,
    back: String,
}

#[allow(clippy::too_many_arguments)]
fn note_again(
    admin: &AdminUser,
    heading: String,
    explanation: String,
    action: String,
    label: &'static str,
    button: &'static str,
    hidden: Vec<(&'static str, String)>,
    note: String,
    error: String,
    back: &str,
) -> Result<HttpResponse, AppError> {
    render_with(
        StatusCode::UNPROCESSABLE_ENTITY,
        &NoteFormPage {
            ctx: admin.viewer.page(heading.clone()),
            heading,
            explanation,
            action,
            label,
            button,
            hidden,
            note,
            error: Some(error),
            note_max: NOTE_MAX,
            back: back.to_string(),
        },
    )
}

/// A ConCat admin records a duty's resolution (e.g. "confirmed by email") with a note.
pub async fn resolve(
    admin: AdminUser,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Result<HttpResponse, AppError> {
    let auth_id = path.into_inner();
    let note = match Note::parse(&form.note) {
        Ok(n) => n,
        Err(e) => {
            return note_again(
                &admin,
                "Record a resolution".into(),
                "Say how the deletion was confirmed (for example: confirmed by email from the developer on a given date).".into(),
                format!("/admin/compliance/{auth_id}/resolve"),
                "Resolution note",
                "Record resolution",
                vec![],
                form.note,
                e,
                "/admin/compliance",
            )
        }
    };
    let state = admin.viewer.state.clone();
    let rc = admin.viewer.context.clone();
    let done = db::transaction(&state.pool, move |c| {
        lifecycle::resolve_duty(c, &rc.ctx(), &auth_id, &note)
    })
    .await?;
    if done {
        admin.viewer.flash(
            FlashLevel::Success,
            "The resolution is recorded; the duty is confirmed.",
        );
    } else {
        admin
            .viewer
            .flash(FlashLevel::Info, "That duty is no longer open.");
    }
    Ok(redirect("/admin/compliance"))
}

// ---------------------------------------------------------------- Integrations

#[derive(Template)]
#[template(path = "admin/integrations.html")]
struct IntegrationsPage {
    ctx: PageContext,
    rows: Vec<(Integration, String)>,
    note_max: usize,
    search: String,
    pager: Keyset,
}

impl IntegrationsPage {
    fn when(&self, t: &NaiveDateTime) -> String {
        when(t)
    }
}

/// Integrations shown per page.
const INTEGRATIONS_PER_PAGE: i64 = 50;

#[derive(Deserialize)]
pub struct IntegrationsQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    older: String,
    #[serde(default)]
    newer: String,
}

/// Every integration that is not retired, newest first, 50 a page (keyset), searchable by
/// name, company or API ID.
pub async fn integrations_list(
    admin: AdminUser,
    query: web::Query<IntegrationsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let seek = seek(&q.older, &q.newer)?;
    let search = filter_text(&q.q);
    let by = seek.clone();
    let (rows, more) = db::run(&admin.viewer.state.pool, move |c| {
        Ok(integrations::listed_page(
            c,
            search.as_deref(),
            &by,
            INTEGRATIONS_PER_PAGE,
        )?)
    })
    .await?;
    let pager = Keyset::links(
        "/admin/integrations",
        &encode_query(&[("q", &q.q)]),
        &seek,
        &rows,
        more,
        |(i, _)| Position {
            at: i.created_at,
            id: i.id.clone(),
        },
    );
    render(&IntegrationsPage {
        ctx: admin.viewer.page("Integrations"),
        rows,
        note_max: NOTE_MAX,
        search: q.q,
        pager,
    })
}

#[derive(Deserialize)]
pub struct ExemptionForm {
    #[serde(default)]
    exempt: String,
    #[serde(default)]
    note: String,
}

pub async fn set_exemption(
    admin: AdminUser,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<ExemptionForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let exempt = match form.exempt.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            admin.viewer.flash(
                FlashLevel::Error,
                "Choose whether to exempt the integration.",
            );
            return Ok(redirect("/admin/integrations"));
        }
    };
    let state = admin.viewer.state.clone();
    let lookup = id.clone();
    let Some(integration) =
        db::run(&state.pool, move |c| Ok(integrations::find(c, &lookup)?)).await?
    else {
        return Err(AppError::NotFound);
    };
    let note = match Note::parse(&form.note) {
        Ok(n) => n,
        Err(e) => {
            return note_again(
                &admin,
                format!(
                    "{} the inactivity exemption of {}",
                    if exempt { "Grant" } else { "Remove" },
                    integration.display_name
                ),
                "The audit log keeps your reason.".into(),
                format!("/admin/integrations/{id}/exemption"),
                "Reason",
                if exempt {
                    "Exempt from inactivity"
                } else {
                    "Remove exemption"
                },
                vec![("exempt", form.exempt.clone())],
                form.note,
                e,
                "/admin/integrations",
            )
        }
    };
    let (rc, name) = (
        admin.viewer.context.clone(),
        integration.display_name.clone(),
    );
    let changed = db::transaction(&state.pool, move |c| {
        lifecycle::set_exempt(c, &rc.ctx(), &integration, exempt, &note)
    })
    .await?;
    let message = match (changed, exempt) {
        (true, true) => format!("{name} is exempt from the inactivity rule."),
        (true, false) => format!("{name} is subject to the inactivity rule again."),
        (false, _) => format!("Nothing changed for {name}."),
    };
    admin.viewer.flash(
        if changed {
            FlashLevel::Success
        } else {
            FlashLevel::Info
        },
        message,
    );
    Ok(redirect("/admin/integrations"))
}

pub async fn retire_form(
    admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    retire_step(&admin.viewer, RetireFrom::Admin, path.into_inner(), None).await
}

pub async fn retire(
    admin: AdminUser,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<RetireForm>,
) -> Result<HttpResponse, AppError> {
    retire_step(
        &admin.viewer,
        RetireFrom::Admin,
        path.into_inner(),
        Some(form.confirm_name),
    )
    .await
}

// ---------------------------------------------------------------- Reactivation decisions

pub async fn approve_reactivation(
    admin: AdminUser,
    path: web::Path<String>,
    _f: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    decide(admin, path.into_inner(), true, None).await
}

pub async fn reject_reactivation(
    admin: AdminUser,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    match Note::parse(&form.note) {
        Ok(note) => decide(admin, id, false, Some(note)).await,
        Err(e) => note_again(
            &admin,
            "Decline the reactivation".into(),
            "The developer receives your reason by email.".into(),
            format!("/admin/reactivations/{id}/reject"),
            "Reason",
            "Decline",
            vec![],
            form.note,
            e,
            "/admin/requests",
        ),
    }
}

async fn decide(
    admin: AdminUser,
    id: String,
    approve: bool,
    note: Option<Note>,
) -> Result<HttpResponse, AppError> {
    let state = admin.viewer.state.clone();
    let (rc, settings) = (admin.viewer.context.clone(), state.settings.clone());
    let invalidate = state.api.invalidate_after(|i: &Integration| {
        vec![crate::gateway::Change::Integration(i.id.clone())]
    });
    let result = db::try_transaction_then(
        &state.pool,
        move |c| {
            lifecycle::decide_reactivation(c, &rc.ctx(), &settings, &id, approve, note.as_ref())
        },
        invalidate,
    )
    .await;
    // A refused decision rolled back (write_tx commits only Ok): report it.
    match result {
        Ok(i) if approve => admin.viewer.flash(
            FlashLevel::Success,
            format!(
                "{} is active again. Its developers were emailed to create a new secret.",
                i.display_name
            ),
        ),
        Ok(i) => admin.viewer.flash(
            FlashLevel::Success,
            format!("The reactivation of {} was declined.", i.display_name),
        ),
        Err(ReactivationError::NotFound) => return Err(AppError::NotFound),
        Err(ReactivationError::Other(e)) => return Err(e.into()),
        Err(e) => admin.viewer.flash(FlashLevel::Error, e.to_string()),
    }
    Ok(redirect("/admin/requests"))
}
