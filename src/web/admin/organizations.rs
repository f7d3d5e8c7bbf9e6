//! Admin: event organizations — list, create one with its first admin.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;

use crate::db;
use crate::db::models::organizations::{self, Organization};
use crate::domain::{new_org_public_id, DisplayName, EmailAddress, OrgName};
use crate::errors::AppError;
use crate::organizations as org_changes;
use crate::web::forms::{when, FieldErrors};
use crate::web::session::FlashLevel;
use crate::web::session::{AdminUser, CsrfForm};
use crate::web::{redirect, render_with, PageContext};

#[derive(Template)]
#[template(path = "admin/organizations.html")]
struct OrganizationsPage {
    ctx: PageContext,
    orgs: Vec<Organization>,
    f: CreateForm,
    errors: FieldErrors,
}

impl OrganizationsPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        when(t)
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    admin_name: String,
    #[serde(default)]
    admin_email: String,
}

async fn page(
    admin: &AdminUser,
    status: StatusCode,
    f: CreateForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let orgs = db::run(&admin.viewer.state.pool, |c| Ok(organizations::all(c)?)).await?;
    render_with(
        status,
        &OrganizationsPage {
            ctx: admin.viewer.page("Organizations"),
            orgs,
            f,
            errors,
        },
    )
}

pub async fn list(admin: AdminUser) -> Result<HttpResponse, AppError> {
    page(
        &admin,
        StatusCode::OK,
        CreateForm::default(),
        FieldErrors::default(),
    )
    .await
}

/// Creates an organization and invites its first admin (an admin once they accept).
pub async fn create(
    admin: AdminUser,
    CsrfForm(f): CsrfForm<CreateForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    let name = errors.take("name", OrgName::parse(&f.name));
    let admin_name = errors.take("admin_name", DisplayName::parse(&f.admin_name));
    let admin_email = errors.take("admin_email", EmailAddress::parse(&f.admin_email));
    let (Some(name), Some(admin_name), Some(admin_email)) = (name, admin_name, admin_email) else {
        return page(&admin, StatusCode::UNPROCESSABLE_ENTITY, f, errors).await;
    };
    let state = admin.viewer.state.clone();
    let (settings, rc, by) = (
        state.settings.clone(),
        admin.viewer.context.clone(),
        admin.user.clone(),
    );
    let public_id = new_org_public_id();
    let pid = public_id.clone();
    db::transaction(&state.pool, move |c| {
        org_changes::create_organization(
            c,
            &rc.ctx(),
            &settings,
            &name,
            &admin_name,
            &admin_email,
            &by,
            &pid,
        )
    })
    .await?;
    state.mail_queued();
    admin.viewer.flash(
        FlashLevel::Success,
        format!(
            "Organization created ({public_id}). Its first admin has been emailed an invitation."
        ),
    );
    Ok(redirect("/admin/organizations"))
}
