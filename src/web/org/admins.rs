//! An organization's admins: invite (or add an existing user), remove — never the last one.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::OrgAdmin;
use crate::audit::{Actor, AuditEvent};
use crate::auth::accounts::{invite_user, CreateUserError, Invite};
use crate::auth::csrf::NoFields;
use crate::auth::session::FlashLevel;
use crate::auth::CsrfForm;
use crate::db;
use crate::db::models::organizations::{self, Organization};
use crate::db::models::users::{self, User};
use crate::domain::{DisplayName, EmailAddress};
use crate::email::messages::AddedToAccount;
use crate::email::outbox;
use crate::errors::AppError;
use crate::settings::Settings;
use crate::web::extract::RequestMeta;
use crate::web::forms::FieldErrors;
use crate::web::{redirect, render_with, PageContext};

#[derive(Template)]
#[template(path = "org/admins.html")]
struct AdminsPage {
    ctx: PageContext,
    org: Organization,
    admins: Vec<(String, String, String, bool)>,
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
    let admins = db::run(&admin.current.viewer.state.pool, move |c| {
        Ok(organizations::admins(c, &oid)?)
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

/// Makes `email` an admin of `org`: an existing user is added and told; anyone else is invited
/// with a set-password link. Returns false when they already are an admin. Shared by the org's
/// own admins and by ConCat admins creating an organization.
/// Who becomes an organization admin.
pub struct NewOrgAdmin<'a> {
    pub email: &'a EmailAddress,
    pub name: &'a DisplayName,
}

pub fn add_org_admin(
    conn: &mut db::DbConn,
    settings: &Settings,
    org: &Organization,
    who: &NewOrgAdmin<'_>,
    by: &User,
    meta: &RequestMeta,
    now: chrono::NaiveDateTime,
) -> anyhow::Result<bool> {
    let (email, name) = (who.email, who.name);
    let user = match users::find_by_email(conn, &email.normalized())? {
        Some(existing) => {
            if !organizations::add_admin(conn, &org.id, &existing.id, now)? {
                return Ok(false);
            }
            let message = AddedToAccount {
                name: existing.display_name.clone(),
                company_name: org.name.clone(),
                added_by: by.display_name.clone(),
                role: "an administrator of the organization".into(),
                link: settings.link(&format!("/org/{}", org.public_id)),
            };
            outbox::enqueue(
                conn,
                &existing.email,
                &message,
                &format!("org_admin_added:{}:{}", org.id, existing.id),
                now,
            )?;
            existing
        }
        None => {
            let role = format!("an administrator of {}", org.name);
            let invite = Invite {
                email,
                name,
                is_admin: false,
                invited_by: &by.display_name,
                role: &role,
            };
            let user = invite_user(conn, settings, &invite, now).map_err(|e| match e {
                CreateUserError::Other(e) => e,
                other => anyhow::Error::new(other),
            })?;
            organizations::add_admin(conn, &org.id, &user.id, now)?;
            user
        }
    };
    AuditEvent::new("organization.admin_added", Actor::from(by))
        .target("organization", &org.id)
        .details(serde_json::json!({ "user": user.id, "email": user.email }))
        .meta(meta)
        .record(conn, now)?;
    Ok(true)
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
    let email = errors.take("email", EmailAddress::parse(&form.email));
    let name = errors.take("name", DisplayName::parse(&form.name));
    if let (Some(email), Some(name)) = (email, name) {
        let state = admin.current.viewer.state.clone();
        let (settings, meta, now, by, org) = (
            state.settings.clone(),
            admin.current.viewer.meta.clone(),
            state.clock.now_naive(),
            admin.current.user.clone(),
            admin.org.clone(),
        );
        let added = match db::transaction(&state.pool, move |c| {
            add_org_admin(
                c,
                &settings,
                &org,
                &NewOrgAdmin {
                    email: &email,
                    name: &name,
                },
                &by,
                &meta,
                now,
            )
        })
        .await
        {
            Ok(added) => added,
            // Two invitations of one new email at once: the second finds the first.
            Err(e) if db::is_unique_violation(&e) => false,
            Err(e) => return Err(e.into()),
        };
        if added {
            state.mail_queued();
            admin.current.viewer.flash(
                FlashLevel::Success,
                format!(
                    "{} is now an admin of {}.",
                    form.email.trim(),
                    admin.org.name
                ),
            );
            return Ok(redirect(&format!("/org/{}/admins", admin.org.public_id)));
        }
        errors.add(
            "email",
            "This person is already an admin of this organization.",
        );
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

pub async fn remove(
    admin: OrgAdmin,
    path: web::Path<(String, String)>,
    _f: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (_, user_id) = path.into_inner();
    let removed_self = user_id == admin.current.user.id;
    let state = admin.current.viewer.state.clone();
    let (meta, now, by, org) = (
        admin.current.viewer.meta.clone(),
        state.clock.now_naive(),
        admin.current.user.clone(),
        admin.org.clone(),
    );
    let outcome = db::transaction(&state.pool, move |c| {
        db::lock_key(c, &format!("org_admins:{}", org.id))?;
        let current = organizations::admins(c, &org.id)?;
        if !current.iter().any(|a| a.0 == user_id) {
            return Ok(None);
        }
        if current.len() == 1 {
            return Ok(Some(false));
        }
        organizations::remove_admin(c, &org.id, &user_id)?;
        AuditEvent::new("organization.admin_removed", Actor::from(&by))
            .target("organization", &org.id)
            .details(serde_json::json!({ "user": user_id }))
            .meta(&meta)
            .record(c, now)?;
        Ok(Some(true))
    })
    .await?;
    match outcome {
        None => Err(AppError::NotFound),
        Some(false) => {
            admin.current.viewer.flash(FlashLevel::Error, "An organization needs at least one admin: invite another before removing the last one.");
            Ok(redirect(&format!("/org/{}/admins", admin.org.public_id)))
        }
        Some(true) => {
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
