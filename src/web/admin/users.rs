//! Admin: users — list and search, invite another ConCat admin, suspend and reactivate.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::audit::{Actor, AuditEvent};
use crate::auth::csrf::NoFields;
use crate::auth::session::FlashLevel;
use crate::auth::{AdminUser, CsrfForm};
use crate::db;
use crate::db::models::invitations::{Invitation, Kind};
use crate::db::models::users::{self, User, STATUS_ACTIVE, STATUS_SUSPENDED};
use crate::domain::{DisplayName, EmailAddress};
use crate::errors::AppError;
use crate::invitations::{self, InviteError, NewInvite, Scope, WithdrawError};
use crate::web::forms::{encode_query, filter_text, when, FieldErrors, Pager};
use crate::web::{redirect, render_with, PageContext};

const PER_PAGE: i64 = 50;

/// ConCat admin invitations have no target.
const SCOPE: Scope<'static> = Scope {
    kind: Kind::ConcatAdmin,
    target_id: None,
};

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
    /// Pending ConCat admin invitations: only the email and the name typed.
    invitations: Vec<Invitation>,
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
    let now = admin.viewer.state.clock.now_naive();
    let ((rows, total), invitations) = db::run(&admin.viewer.state.pool, move |c| {
        Ok((
            users::page(c, search.as_deref(), offset, limit)?,
            invitations::pending(c, SCOPE, now)?,
        ))
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
            invitations,
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

/// Invites a ConCat admin: pending until the invited person accepts (signing in if they have
/// an account, choosing a password otherwise); the answer is the same either way.
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
        let outcome = db::transaction(&state.pool, move |c| {
            InviteError::split(invitations::invite(
                c,
                &settings,
                &NewInvite {
                    scope: SCOPE,
                    role: None,
                    email: &email,
                    name: &name,
                    role_label: "a ConCat administrator",
                },
                &actor,
                &meta,
                now,
            ))
        })
        .await?;
        match outcome {
            Ok(_) => {
                state.mail_queued();
                admin.viewer.flash(
                    FlashLevel::Success,
                    format!("Invitation sent to {}.", form.email.trim()),
                );
                return Ok(redirect("/admin/users"));
            }
            Err(InviteError::AlreadyMember) => {
                errors.add("email", "This person is already a ConCat admin.")
            }
            Err(InviteError::AlreadyInvited) => errors.add(
                "email",
                "An invitation to this email is already pending. Withdraw it first to send a new one.",
            ),
            Err(InviteError::Other(e)) => return Err(e.into()),
        }
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

/// Withdraws a pending ConCat admin invitation.
pub async fn withdraw(
    admin: AdminUser,
    id: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let state = admin.viewer.state.clone();
    let (meta, now, actor) = (
        admin.viewer.meta.clone(),
        state.clock.now_naive(),
        admin.user.clone(),
    );
    let outcome = db::transaction(&state.pool, move |c| {
        WithdrawError::split(invitations::withdraw(c, SCOPE, &id, &actor, &meta, now))
    })
    .await?;
    match outcome {
        Ok(i) => admin.viewer.flash(
            FlashLevel::Success,
            format!("The invitation to {} was withdrawn.", i.email),
        ),
        Err(WithdrawError::NotFound) => return Err(AppError::NotFound),
        Err(_) => admin.viewer.flash(
            FlashLevel::Error,
            "This invitation is no longer pending (accepted, withdrawn or expired).",
        ),
    }
    Ok(redirect("/admin/users"))
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
