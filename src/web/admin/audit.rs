use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::db::models::audit::{self, AuditFilter, AuditRow};
use crate::db::{self};
use crate::errors::AppError;
use crate::web::forms::{encode_query, filter_text, when, FieldErrors, Pager};
use crate::web::session::AdminUser;
use crate::web::{render, PageContext};

const PER_PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    ctx: PageContext,
    q: AuditQuery,
    actions: Vec<String>,
    rows: Vec<AuditRow>,
    pager: Pager,
    errors: FieldErrors,
}

impl AuditPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        when(t)
    }
}

fn parse_date(s: &str) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| "Use a date like 2026-12-31.".to_string())
}

pub async fn list(
    admin: AdminUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let mut errors = FieldErrors::default();
    let from = errors.take("from", parse_date(&q.from)).flatten();
    let until = errors.take("until", parse_date(&q.until)).flatten();
    let filter = AuditFilter {
        actor: filter_text(&q.actor),
        action: filter_text(&q.action),
        from: from.and_then(|d| d.and_hms_opt(0, 0, 0)),
        // "until" is inclusive of that whole day.
        until: until
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0)),
    };
    let mut pager = Pager::new(
        q.page,
        PER_PAGE,
        "/admin/audit",
        encode_query(&[
            ("actor", &q.actor),
            ("action", &q.action),
            ("from", &q.from),
            ("until", &q.until),
        ]),
    );
    let (offset, limit) = (pager.offset(), pager.per_page);
    let (rows, total, actions) = db::run(&admin.viewer.state.pool, move |c| {
        let (rows, total) = audit::page(c, &filter, offset, limit)?;
        Ok((rows, total, audit::actions(c)?))
    })
    .await?;
    pager.total = total;
    render(&AuditPage {
        ctx: admin.viewer.page("Audit log"),
        q,
        actions,
        rows,
        pager,
        errors,
    })
}
