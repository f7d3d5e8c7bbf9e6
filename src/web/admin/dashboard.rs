use actix_web::HttpResponse;
use askama::Template;

use crate::db::models::access_requests::{self, RequestStatus};
use crate::db::models::audit::{self, AuditRow};
use crate::db::models::outbox::{self, OutboxStatus};
use crate::db::models::users;
use crate::db::{self};
use crate::errors::AppError;
use crate::web::forms::when;
use crate::web::session::AdminUser;
use crate::web::{render, PageContext};

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    ctx: PageContext,
    pending: i64,
    user_count: i64,
    queued: i64,
    failed: i64,
    recent: Vec<AuditRow>,
}

impl DashboardPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        when(t)
    }
}

pub async fn show(admin: AdminUser) -> Result<HttpResponse, AppError> {
    let (pending, user_count, queued, failed, recent) = db::run(&admin.viewer.state.pool, |c| {
        Ok((
            access_requests::count_by_status(c, RequestStatus::Pending)?,
            users::count(c)?,
            outbox::count_by_status(c, OutboxStatus::Queued)?,
            outbox::count_by_status(c, OutboxStatus::Failed)?,
            audit::recent(c, 10)?,
        ))
    })
    .await?;
    render(&DashboardPage {
        ctx: admin.viewer.page("Admin dashboard"),
        pending,
        user_count,
        queued,
        failed,
        recent,
    })
}
