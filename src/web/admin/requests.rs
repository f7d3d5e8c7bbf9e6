//! Admin: the access-request queue, a request's detail page, and the decisions.

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::access::{self, DecisionError, Target};
use crate::db;
use crate::db::models::access_requests::{
    self as requests, AccessRequest, RequestMessage, RequestStatus,
};
use crate::db::models::organizations::{self, Organization};
use crate::db::models::reactivations;
use crate::db::models::users::{self, User};
use crate::domain::Message;
use crate::errors::AppError;
use crate::web::forms::{encode_query, filter_text, when, FieldErrors, Pager};
use crate::web::session::FlashLevel;
use crate::web::session::{AdminUser, CsrfForm};
use crate::web::{redirect, render, render_with, PageContext};

const PER_PAGE: i64 = 25;

#[derive(Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "admin/requests.html")]
struct QueuePage {
    ctx: PageContext,
    status: String,
    search: String,
    rows: Vec<AccessRequest>,
    pager: Pager,
    statuses: &'static [RequestStatus],
    /// Pending requests to reactivate integrations revoked for inactivity.
    reactivations: Vec<reactivations::QueueRow>,
}

impl QueuePage {
    fn when(&self, t: &NaiveDateTime) -> String {
        when(t)
    }
}

pub async fn queue(
    admin: AdminUser,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    // The queue opens on what needs attention; `status=all` shows everything.
    let status = match q.status.as_deref() {
        None | Some("") => RequestStatus::Pending.to_string(),
        Some(s) => s.to_string(),
    };
    let filter = status.parse::<RequestStatus>().ok();
    let mut pager = Pager::new(
        q.page,
        PER_PAGE,
        "/admin/requests",
        encode_query(&[("status", &status), ("q", &q.q)]),
    );
    let (offset, limit) = (pager.offset(), pager.per_page);
    let search = filter_text(&q.q);
    let ((rows, total), reactivations) = db::run(&admin.viewer.state.pool, move |c| {
        Ok((
            requests::page(c, filter, search.as_deref(), offset, limit)?,
            reactivations::queue(c)?,
        ))
    })
    .await?;
    pager.total = total;
    render(&QueuePage {
        ctx: admin.viewer.page("Access requests"),
        status,
        search: q.q,
        rows,
        pager,
        statuses: RequestStatus::ALL,
        reactivations,
    })
}

#[derive(Template)]
#[template(path = "admin/request.html")]
struct DetailPage {
    ctx: PageContext,
    r: AccessRequest,
    messages: Vec<RequestMessage>,
    matches: Vec<Organization>,
    /// The account that already uses the contact email, if any.
    existing: Option<User>,
    /// Who decided a decided request (name and email), if anyone did.
    decided_by: Option<(String, String)>,
    reason: String,
    question: String,
    errors: FieldErrors,
}

impl DetailPage {
    fn when(&self, t: &NaiveDateTime) -> String {
        when(t)
    }
}

async fn detail(
    admin: &AdminUser,
    id: String,
    reason: String,
    question: String,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let found = db::run(&admin.viewer.state.pool, move |c| {
        // Unconfirmed requests are not shown to admins.
        let Some(r) = requests::find_confirmed(c, &id)? else {
            return Ok(None);
        };
        let messages = requests::messages(c, &r.id)?;
        let matches = organizations::matching_names(c, &r.customers())?;
        let existing = users::find_by_email(c, &r.contact_email_normalized)?;
        let decided_by = match &r.decided_by_user_id {
            Some(id) => users::find(c, id)?.map(|u| (u.display_name.to_string(), u.email)),
            None => None,
        };
        Ok(Some((r, messages, matches, existing, decided_by)))
    })
    .await?;
    let (r, messages, matches, existing, decided_by) = found.ok_or(AppError::NotFound)?;
    let status = if errors.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    render_with(
        status,
        &DetailPage {
            ctx: admin.viewer.page(format!("Request: {}", r.app_name)),
            r,
            messages,
            matches,
            existing,
            decided_by,
            reason,
            question,
            errors,
        },
    )
}

pub async fn show(admin: AdminUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    detail(
        &admin,
        id.into_inner(),
        String::new(),
        String::new(),
        FieldErrors::default(),
    )
    .await
}

/// Turns the outcome of a decision into the redirect back to the request.
fn decided(
    admin: &AdminUser,
    id: &str,
    result: Result<(), DecisionError>,
    success: &str,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(()) => {
            admin.viewer.state.mail_queued();
            admin.viewer.flash(FlashLevel::Success, success);
        }
        Err(DecisionError::NotFound) => return Err(AppError::NotFound),
        Err(DecisionError::AlreadyDecided(status)) => {
            let why = match status {
                RequestStatus::Pending => {
                    "the requester answered meanwhile; read the answer first.".to_string()
                }
                RequestStatus::InfoRequested => {
                    "another admin asked the requester for more information meanwhile.".to_string()
                }
                other => format!("this request was already {other}."),
            };
            admin
                .viewer
                .flash(FlashLevel::Error, format!("Nothing was changed: {why}"));
        }
        Err(DecisionError::Refused(why)) => admin.viewer.flash(FlashLevel::Error, why),
        Err(DecisionError::Other(e)) => return Err(e.into()),
    }
    Ok(redirect(&format!("/admin/requests/{id}")))
}

#[derive(Deserialize)]
pub struct ApproveForm {
    /// The status the admin's page showed (stale pages decide nothing).
    expected_status: Option<String>,
}

#[tracing::instrument(name = "approve_request", skip_all)]
pub async fn approve(
    admin: AdminUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<ApproveForm>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let state = admin.viewer.state.clone();
    let (settings, rc, rid) = (
        state.settings.clone(),
        admin.viewer.context.clone(),
        id.clone(),
    );
    let result = db::try_transaction(&state.pool, move |c| {
        let target = Target {
            id: &rid,
            seen_status: form.expected_status.as_deref().filter(|s| !s.is_empty()),
        };
        access::approve(c, &rc.ctx(), &settings, &target).map(|_| ())
    })
    .await;
    decided(
        &admin,
        &id,
        result,
        "Approved. The developer has been emailed a link to get their API secret.",
    )
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
    expected_status: Option<String>,
}

pub async fn reject(
    admin: AdminUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let reason = match Message::parse(&form.reason) {
        Ok(r) => r,
        Err(_) => {
            let mut errors = FieldErrors::default();
            errors.add("reason", "Give the reason; it is sent to the requester.");
            return detail(&admin, id, form.reason, String::new(), errors).await;
        }
    };
    let state = admin.viewer.state.clone();
    let (rc, rid) = (admin.viewer.context.clone(), id.clone());
    let result = db::try_transaction(&state.pool, move |c| {
        let target = Target {
            id: &rid,
            seen_status: form.expected_status.as_deref().filter(|s| !s.is_empty()),
        };
        access::reject(c, &rc.ctx(), &target, &reason).map(|_| ())
    })
    .await;
    decided(
        &admin,
        &id,
        result,
        "Rejected. The requester has been emailed the reason.",
    )
}

#[derive(Deserialize)]
pub struct QuestionForm {
    #[serde(default)]
    question: String,
}

pub async fn ask(
    admin: AdminUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<QuestionForm>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let question = match Message::parse(&form.question) {
        Ok(q) => q,
        Err(_) => {
            let mut errors = FieldErrors::default();
            errors.add(
                "question",
                "Write what you need to know; it is sent to the requester.",
            );
            return detail(&admin, id, String::new(), form.question, errors).await;
        }
    };
    let state = admin.viewer.state.clone();
    let (settings, rc, rid) = (
        state.settings.clone(),
        admin.viewer.context.clone(),
        id.clone(),
    );
    let result = db::try_transaction(&state.pool, move |c| {
        access::ask_for_info(c, &rc.ctx(), &settings, &rid, &question).map(|_| ())
    })
    .await;
    decided(
        &admin,
        &id,
        result,
        "Your question was emailed to the requester. The request waits for their answer.",
    )
}
