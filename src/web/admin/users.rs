//! Admin: users — list and search, invite another ConCat admin, suspend and reactivate.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::audit::{Actor, AuditEvent};
use crate::auth::accounts::{invite_user, CreateUserError, Invite};
use crate::auth::csrf::NoFields;
use crate::auth::session::FlashLevel;
use crate::auth::{AdminUser, CsrfForm};
use crate::db;
use crate::db::models::users::{self, User, STATUS_ACTIVE, STATUS_SUSPENDED};
use crate::domain::{DisplayName, EmailAddress};
use crate::errors::AppError;
use crate::web::forms::{encode_query, filter_text, when, FieldErrors, Pager};
use crate::web::{redirect, render_with, PageContext};

const PER_PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    ctx: PageContext,
    me: String,
    search: String,
    rows: Vec<User>,
    pager: Pager,
    invite_email: String,
    invite_name: String,
    errors: FieldErrors,
}

impl UsersPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        when(t)
    }
}

async fn page(
    admin: &AdminUser,
    status: StatusCode,
    query: UsersQuery,
    invite_email: String,
    invite_name: String,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let mut pager = Pager::new(
        query.page,
        PER_PAGE,
        "/admin/users",
        encode_query(&[("q", &query.q)]),
    );
    let (offset, limit) = (pager.offset(), pager.per_page);
    let search = filter_text(&query.q);
    let (rows, total) = db::run(&admin.viewer.state.pool, move |c| {
        Ok(users::page(c, search.as_deref(), offset, limit)?)
    })
    .await?;
    pager.total = total;
    render_with(
        status,
        &UsersPage {
            ctx: admin.viewer.page("Users"),
            me: admin.user.id.clone(),
            search: query.q,
            rows,
            pager,
            invite_email,
            invite_name,
            errors,
        },
    )
}

pub async fn list(
    admin: AdminUser,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, AppError> {
    page(
        &admin,
        StatusCode::OK,
        query.into_inner(),
        String::new(),
        String::new(),
        FieldErrors::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
}

/// Invites another ConCat admin: the account is created without a password and the invitee gets
/// a set-password link valid for seven days.
#[tracing::instrument(name = "invite_admin", skip_all)]
pub async fn invite(
    admin: AdminUser,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    let email = errors.take("email", EmailAddress::parse(&form.email));
    let name = errors.take("name", DisplayName::parse(&form.name));
    if let (Some(email), Some(name)) = (email, name) {
        let state = admin.viewer.state.clone();
        let now = state.clock.now_naive();
        let meta = admin.viewer.meta.clone();
        let actor = admin.user.clone();
        let settings = state.settings.clone();
        let invited = db::transaction(&state.pool, move |c| {
            let invitation = Invite {
                email: &email,
                name: &name,
                is_admin: true,
                invited_by: &actor.display_name,
                role: "a ConCat administrator",
            };
            let user = match invite_user(c, &settings, &invitation, now) {
                Ok(u) => u,
                Err(CreateUserError::EmailTaken(_)) => return Ok(false),
                Err(e) => return Err(anyhow::Error::new(e)),
            };
            AuditEvent::new("admin.invited", Actor::from(&actor))
                .target("user", &user.id)
                .details(serde_json::json!({ "email": user.email, "role": "concat_admin" }))
                .meta(&meta)
                .record(c, now)?;
            Ok(true)
        })
        .await?;
        if invited {
            state.mail_queued();
            admin.viewer.flash(
                FlashLevel::Success,
                format!("Invitation sent to {}.", form.email.trim()),
            );
            return Ok(redirect("/admin/users"));
        }
        errors.add("email", "An account with this email already exists.");
    }
    page(
        &admin,
        StatusCode::UNPROCESSABLE_ENTITY,
        UsersQuery::default(),
        form.email,
        form.name,
        errors,
    )
    .await
}

async fn set_status(
    admin: AdminUser,
    id: String,
    status: &'static str,
) -> Result<HttpResponse, AppError> {
    if id == admin.user.id {
        admin
            .viewer
            .flash(FlashLevel::Error, "You cannot suspend your own account.");
        return Ok(redirect("/admin/users"));
    }
    let state = admin.viewer.state.clone();
    let now = state.clock.now_naive();
    let meta = admin.viewer.meta.clone();
    let actor = admin.user.clone();
    let outcome = db::transaction(&state.pool, move |c| {
        let Some(target) = users::find(c, &id)? else {
            return Ok(None);
        };
        let changed = users::set_status(c, &id, status, now)? == 1;
        if changed {
            let action = if status == STATUS_SUSPENDED {
                "user.suspended"
            } else {
                "user.reactivated"
            };
            AuditEvent::new(action, Actor::from(&actor))
                .target("user", &id)
                .details(serde_json::json!({ "email": target.email }))
                .meta(&meta)
                .record(c, now)?;
        }
        Ok::<_, anyhow::Error>(Some((target.email, changed)))
    })
    .await?;
    let Some((email, changed)) = outcome else {
        return Err(AppError::NotFound);
    };
    let message = match (status, changed) {
        (STATUS_SUSPENDED, true) => {
            format!("{email} is suspended and has been signed out everywhere.")
        }
        (STATUS_ACTIVE, true) => format!("{email} is active again."),
        _ => format!("{email} was already {status}."),
    };
    admin.viewer.flash(FlashLevel::Success, message);
    Ok(redirect("/admin/users"))
}

pub async fn suspend(
    admin: AdminUser,
    id: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    set_status(admin, id.into_inner(), STATUS_SUSPENDED).await
}

pub async fn reactivate(
    admin: AdminUser,
    id: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    set_status(admin, id.into_inner(), STATUS_ACTIVE).await
}
