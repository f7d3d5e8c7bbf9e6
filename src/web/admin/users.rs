//! Admin: users — list and search, invite another ConCat admin, suspend (with the developer
//! accounts the user is the last active owner of, if the admin ticks them) and reactivate.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db;
use crate::db::models::developer_accounts::{self as accounts, DeveloperAccount};
use crate::db::models::invitations::{Invitation, Kind};
use crate::db::models::users::{self, User};
use crate::domain::{DisplayName, EmailAddress, Note, NOTE_MAX};
use crate::errors::AppError;
use crate::gateway::Change;
use crate::invitations::{self, InviteError, NewInvite, Scope, WithdrawError};
use crate::suspension::{self, SuspensionError};
use crate::web::forms::{encode_query, filter_text, when, FieldErrors, Pager};
use crate::web::session::csrf::NoFields;
use crate::web::session::FlashLevel;
use crate::web::session::{AdminUser, CsrfForm};
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
    let now = admin.viewer.context.now;
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
    let name = errors.take("name", DisplayName::parse(&form.name));
    let email = errors.take("email", EmailAddress::parse(&form.email));
    if let (Some(email), Some(name)) = (email, name) {
        let state = admin.viewer.state.clone();
        let (rc, actor, settings) = (
            admin.viewer.context.clone(),
            admin.user.clone(),
            state.settings.clone(),
        );
        let outcome = db::try_transaction(&state.pool, move |c| {
            invitations::invite(
                c,
                &rc.ctx(),
                &settings,
                &NewInvite {
                    scope: SCOPE,
                    role: None,
                    email: &email,
                    name: &name,
                    role_label: "a ConCat administrator",
                },
                &actor,
            )
        })
        .await;
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
    let rc = admin.viewer.context.clone();
    let outcome = db::try_transaction(&state.pool, move |c| {
        invitations::withdraw(c, &rc.ctx(), SCOPE, &id)
    })
    .await;
    match outcome {
        Ok(i) => admin.viewer.flash(
            FlashLevel::Success,
            format!("The invitation to {} was withdrawn.", i.email),
        ),
        Err(WithdrawError::NotFound) => return Err(AppError::NotFound),
        Err(WithdrawError::Other(e)) => return Err(e.into()),
        Err(_) => admin.viewer.flash(
            FlashLevel::Error,
            "This invitation is no longer pending (accepted, withdrawn or expired).",
        ),
    }
    Ok(redirect("/admin/users"))
}

#[derive(Template)]
#[template(path = "admin/user_suspend.html")]
struct SuspendPage {
    ctx: PageContext,
    target: User,
    /// Active developer accounts of which the user is the last active owner.
    last_owned: Vec<DeveloperAccount>,
    /// The accounts ticked (kept when the form comes back with an error).
    ticked: Vec<String>,
    reason: String,
    error: Option<String>,
    note_max: usize,
}

async fn suspend_page(
    admin: &AdminUser,
    status: StatusCode,
    id: String,
    ticked: Vec<String>,
    reason: String,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let found = db::run(&admin.viewer.state.pool, move |c| {
        let Some(target) = users::find(c, &id)? else {
            return Ok(None);
        };
        let last_owned = accounts::last_owner_of(c, &id)?;
        Ok(Some((target, last_owned)))
    })
    .await?;
    let Some((target, last_owned)) = found else {
        return Err(AppError::NotFound);
    };
    render_with(
        status,
        &SuspendPage {
            ctx: admin.viewer.page(format!("Suspend {}", target.email)),
            target,
            last_owned,
            ticked,
            reason,
            error,
            note_max: NOTE_MAX,
        },
    )
}

/// The confirmation before suspending a user: offers to suspend the developer accounts the
/// user is the last active owner of.
pub async fn suspend_form(
    admin: AdminUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    suspend_page(
        &admin,
        StatusCode::OK,
        id.into_inner(),
        Vec::new(),
        String::new(),
        None,
    )
    .await
}

/// Suspends a user; with `also_suspend=<account id>` (repeatable) and a `reason`, those
/// developer accounts too, in the same transaction.
#[tracing::instrument(name = "suspend_user", skip_all)]
pub async fn suspend(
    admin: AdminUser,
    id: web::Path<String>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    if id == admin.user.id {
        admin
            .viewer
            .flash(FlashLevel::Error, "You cannot suspend your own account.");
        return Ok(redirect("/admin/users"));
    }
    let also: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "also_suspend")
        .map(|(_, v)| v.clone())
        .collect();
    let typed = fields
        .iter()
        .find(|(k, _)| k == "reason")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let reason = if also.is_empty() {
        None
    } else {
        match Note::parse(&typed) {
            Ok(r) => Some(r),
            Err(e) => {
                return suspend_page(
                    &admin,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    id,
                    also,
                    typed,
                    Some(format!(
                        "Give the reason for suspending the developer account: {e}"
                    )),
                )
                .await
            }
        }
    };
    let state = admin.viewer.state.clone();
    let (rc, settings) = (admin.viewer.context.clone(), state.settings.clone());
    let invalidate = state.api.invalidate_after(
        |outcome: &Result<suspension::UserSuspended, SuspensionError>| match outcome {
            Ok(done) => done
                .accounts
                .iter()
                .map(|a| Change::Account(a.id.clone()))
                .collect(),
            Err(_) => Vec::new(),
        },
    );
    let outcome = db::transaction_then(
        &state.pool,
        move |c| {
            let also = reason.as_ref().map(|r| (also.as_slice(), r));
            match suspension::suspend_user(c, &rc.ctx(), &settings, &id, also) {
                Err(SuspensionError::Other(e)) => Err(e),
                other => Ok(other),
            }
        },
        invalidate,
    )
    .await?;
    let done = match outcome {
        Ok(done) => done,
        Err(SuspensionError::UserNotFound) | Err(SuspensionError::AccountNotFound) => {
            return Err(AppError::NotFound)
        }
        Err(e) => {
            admin.viewer.flash(FlashLevel::Error, e.to_string());
            return Ok(redirect("/admin/users"));
        }
    };
    let email = &done.email;
    let mut message = if done.changed {
        format!("{email} is suspended and has been signed out everywhere.")
    } else {
        format!("{email} was already suspended.")
    };
    if !done.accounts.is_empty() {
        state.mail_queued();
        let names: Vec<&str> = done
            .accounts
            .iter()
            .map(|a| a.company_name.as_str())
            .collect();
        message.push_str(&format!(
            " The developer account {} is suspended too; its owners were emailed the reason.",
            names.join(", ")
        ));
    }
    admin.viewer.flash(FlashLevel::Success, message);
    Ok(redirect("/admin/users"))
}

pub async fn reactivate(
    admin: AdminUser,
    id: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let state = admin.viewer.state.clone();
    let rc = admin.viewer.context.clone();
    let outcome = db::transaction(&state.pool, move |c| {
        match suspension::reactivate_user(c, &rc.ctx(), &id) {
            Err(SuspensionError::Other(e)) => Err(e),
            other => Ok(other),
        }
    })
    .await?;
    let (email, changed) = match outcome {
        Ok(done) => done,
        Err(_) => return Err(AppError::NotFound),
    };
    let message = if changed {
        format!("{email} is active again.")
    } else {
        format!("{email} was already active.")
    };
    admin.viewer.flash(FlashLevel::Success, message);
    Ok(redirect("/admin/users"))
}

/// `POST /admin/users/{id}/reset-mfa`: a ConCat admin removes another user's second factors.
pub async fn admin_reset(
    admin: crate::web::session::AdminUser,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (rc, settings, id) = (
        admin.viewer.context.clone(),
        admin.viewer.state.settings.clone(),
        path.into_inner(),
    );
    let outcome = db::transaction(&admin.viewer.state.pool, move |c| {
        let Some(target) = users::find(c, &id)? else {
            return Ok(None);
        };
        Ok(Some((
            crate::auth::mfa::reset_factors(c, &rc.ctx(), &settings, &target)?,
            target,
        )))
    })
    .await?;
    match outcome {
        None => Err(AppError::NotFound),
        Some((crate::auth::mfa::Reset::OwnAccount, _)) => {
            admin.viewer.flash(
                FlashLevel::Error,
                "You cannot reset your own second factors. Use a recovery code, or ask another ConCat admin.",
            );
            Ok(redirect("/admin/users"))
        }
        Some((crate::auth::mfa::Reset::Done, target)) => {
            admin.viewer.flash(
                FlashLevel::Success,
                format!(
                    "The second factors of {} were removed and their sessions ended. They set up a new one at their next sign-in.",
                    target.email
                ),
            );
            Ok(redirect("/admin/users"))
        }
    }
}
