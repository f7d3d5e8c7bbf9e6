//! An organization's admins: invite (pending until accepted), withdraw an invitation, remove —
//! never the last one.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::OrgAdmin;
use crate::db;
use crate::db::models::invitations::{Invitation, Kind};
use crate::db::models::organizations::{self, Organization};
use crate::domain::{DisplayName, EmailAddress};
use crate::errors::AppError;
use crate::invitations::{self, InviteError, NewInvite, Scope, WithdrawError};
use crate::organizations::{self as org_admins, RemoveAdminError};
use crate::web::forms::{when, FieldErrors};
use crate::web::session::csrf::NoFields;
use crate::web::session::CsrfForm;
use crate::web::session::FlashLevel;
use crate::web::{redirect, render_with, PageContext};

#[derive(Template)]
#[template(path = "org/admins.html")]
struct AdminsPage {
    ctx: PageContext,
    org: Organization,
    admins: Vec<(String, String, String, bool)>,
    /// Pending invitations: only the email and the name the inviter typed.
    invitations: Vec<Invitation>,
    me: String,
    email: String,
    name: String,
    errors: FieldErrors,
}

async fn page(
    admin: &OrgAdmin,
    status: StatusCode,
    email: String,
    name: String,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let oid = admin.org.id.clone();
    let now = admin.current.viewer.context.now;
    let (admins, invitations) = db::run(&admin.current.viewer.state.pool, move |c| {
        Ok((
            organizations::admins(c, &oid)?,
            invitations::pending(c, scope(&oid), now)?,
        ))
    })
    .await?;
    render_with(
        status,
        &AdminsPage {
            ctx: admin
                .current
                .viewer
                .page(format!("{} admins", admin.org.name)),
            org: admin.org.clone(),
            admins,
            invitations,
            me: admin.current.user.id.clone(),
            email,
            name,
            errors,
        },
    )
}

pub async fn list(admin: OrgAdmin) -> Result<HttpResponse, AppError> {
    page(
        &admin,
        StatusCode::OK,
        String::new(),
        String::new(),
        FieldErrors::default(),
    )
    .await
}

impl AdminsPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        when(t)
    }
}

/// The invitations of one organization.
pub fn scope(org_id: &str) -> Scope<'_> {
    Scope {
        kind: Kind::Organization,
        target_id: Some(org_id),
    }
}

/// What an organization admin invitation says it is for.
pub fn role_label(org: &Organization) -> String {
    format!("an administrator of {}", org.name)
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
}

pub async fn invite(
    admin: OrgAdmin,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    let name = errors.take("name", DisplayName::parse(&form.name));
    let email = errors.take("email", EmailAddress::parse(&form.email));
    if let (Some(email), Some(name)) = (email, name) {
        let state = admin.current.viewer.state.clone();
        let (settings, rc, by, org) = (
            state.settings.clone(),
            admin.current.viewer.context.clone(),
            admin.current.user.clone(),
            admin.org.clone(),
        );
        let outcome = db::try_transaction(&state.pool, move |c| {
            invitations::invite(
                c,
                &rc.ctx(),
                &settings,
                &NewInvite {
                    scope: scope(&org.id),
                    role: None,
                    email: &email,
                    name: &name,
                    role_label: &role_label(&org),
                },
                &by,
            )
        })
        .await;
        match outcome {
            Ok(_) => {
                state.mail_queued();
                admin.current.viewer.flash(
                    FlashLevel::Success,
                    format!(
                        "Invitation sent to {}. They become an admin once they accept it (the link is valid for 7 days).",
                        form.email.trim()
                    ),
                );
                return Ok(redirect(&format!("/org/{}/admins", admin.org.public_id)));
            }
            Err(InviteError::AlreadyMember) => errors.add(
                "email",
                "This person is already an admin of this organization.",
            ),
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
        form.email,
        form.name,
        errors,
    )
    .await
}

/// Withdraws a pending invitation of this organization (another organization's: 404).
pub async fn withdraw(
    admin: OrgAdmin,
    path: web::Path<(String, String)>,
    _f: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (_, invitation_id) = path.into_inner();
    let state = admin.current.viewer.state.clone();
    let (rc, org) = (admin.current.viewer.context.clone(), admin.org.id.clone());
    let outcome = db::try_transaction(&state.pool, move |c| {
        invitations::withdraw(c, &rc.ctx(), scope(&org), &invitation_id)
    })
    .await;
    match outcome {
        Ok(i) => admin.current.viewer.flash(
            FlashLevel::Success,
            format!("The invitation to {} was withdrawn.", i.email),
        ),
        Err(WithdrawError::NotFound) => return Err(AppError::NotFound),
        Err(WithdrawError::Other(e)) => return Err(e.into()),
        Err(_) => admin.current.viewer.flash(
            FlashLevel::Error,
            "This invitation is no longer pending (accepted, withdrawn or expired).",
        ),
    }
    Ok(redirect(&format!("/org/{}/admins", admin.org.public_id)))
}

pub async fn remove(
    admin: OrgAdmin,
    path: web::Path<(String, String)>,
    _f: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (_, user_id) = path.into_inner();
    let removed_self = user_id == admin.current.user.id;
    let state = admin.current.viewer.state.clone();
    let (rc, org) = (admin.current.viewer.context.clone(), admin.org.clone());
    let outcome = db::try_transaction(&state.pool, move |c| {
        org_admins::remove_admin(c, &rc.ctx(), &org, &user_id)
    })
    .await;
    match outcome {
        Err(RemoveAdminError::NotAnAdmin) => Err(AppError::NotFound),
        Err(RemoveAdminError::LastAdmin) => {
            admin.current.viewer.flash(FlashLevel::Error, "An organization needs at least one admin: invite another before removing the last one.");
            Ok(redirect(&format!("/org/{}/admins", admin.org.public_id)))
        }
        Err(RemoveAdminError::Db(e)) => Err(e.into()),
        Err(RemoveAdminError::Other(e)) => Err(e.into()),
        Ok(()) => {
            admin
                .current
                .viewer
                .flash(FlashLevel::Success, "The admin was removed.");
            if removed_self {
                return Ok(redirect("/org"));
            }
            Ok(redirect(&format!("/org/{}/admins", admin.org.public_id)))
        }
    }
}
