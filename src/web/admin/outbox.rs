use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db;
use crate::db::models::outbox::{self, OutboxRow, OutboxStatus};
use crate::errors::AppError;
use crate::web::forms::{encode_query, when, Pager};
use crate::web::session::csrf::NoFields;
use crate::web::session::FlashLevel;
use crate::web::session::{AdminUser, CsrfForm};
use crate::web::{redirect, render, PageContext};

const PER_PAGE: i64 = 50;

#[derive(Deserialize)]
pub struct OutboxQuery {
    #[serde(default)]
    status: String,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    ctx: PageContext,
    status: String,
    rows: Vec<OutboxRow>,
    pager: Pager,
    /// Queued messages whose last attempt found the mail server unreachable.
    waiting_for_server: i64,
    probe_secs: i64,
    max_attempts: i32,
}

impl OutboxPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        when(t)
    }
}

pub async fn list(
    admin: AdminUser,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let status = q.status.parse::<OutboxStatus>().ok();
    let status_text = status.map(OutboxStatus::as_str).unwrap_or("");
    let mut pager = Pager::new(
        q.page,
        PER_PAGE,
        "/admin/outbox",
        encode_query(&[("status", status_text)]),
    );
    let (offset, limit) = (pager.offset(), pager.per_page);
    let (rows, total, waiting_for_server) = db::run(&admin.viewer.state.pool, move |c| {
        let (rows, total) = outbox::page(c, status, offset, limit)?;
        Ok((rows, total, outbox::count_waiting_for_server(c)?))
    })
    .await?;
    pager.total = total;
    render(&OutboxPage {
        ctx: admin.viewer.page("Outbox"),
        status: status_text.to_string(),
        rows,
        pager,
        waiting_for_server,
        probe_secs: crate::email::dispatcher::PROBE_INTERVAL.num_seconds(),
        max_attempts: admin.viewer.state.settings.outbox.max_attempts,
    })
}

pub async fn retry(
    admin: AdminUser,
    id: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let state = admin.viewer.state.clone();
    let rc = admin.viewer.context.clone();
    let changed = db::transaction(&state.pool, move |c| {
        crate::email::outbox::retry_by_admin(c, &rc.ctx(), &id)
    })
    .await?;
    match changed {
        None => Err(AppError::NotFound),
        Some(true) => {
            state.mail_queued();
            admin
                .viewer
                .flash(FlashLevel::Success, "The message will be sent again now.");
            Ok(redirect("/admin/outbox"))
        }
        Some(false) => {
            admin.viewer.flash(
                FlashLevel::Info,
                "That message was already sent, or is being sent right now.",
            );
            Ok(redirect("/admin/outbox"))
        }
    }
}
