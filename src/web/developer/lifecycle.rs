//! Developer: retiring an integration (typing its display name to confirm; the pages are
//! `web::shared::retirement`, shared with ConCat admins) and asking for the reactivation of an
//! integration revoked for inactivity.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::models::integrations::{self, Integration};
use crate::db::models::reactivations;
use crate::db::{self};
use crate::domain::{Note, NOTE_MAX};
use crate::errors::AppError;
use crate::lifecycle::{self, ReactivationError};
use crate::web::session::FlashLevel;
use crate::web::session::{CsrfForm, CurrentUser};
use crate::web::shared::retirement::{retire_step, RetireForm, RetireFrom};
use crate::web::{redirect, render_with, PageContext};

/// Loads the integration for an owner of its account (404 for others, 403 for members).
async fn owned(current: &CurrentUser, id: String) -> Result<Integration, AppError> {
    let uid = current.user.id.clone();
    let (integration, role) = db::run(&current.viewer.state.pool, move |c| {
        Ok(integrations::find_for_member(c, &id, &uid)?)
    })
    .await?
    .ok_or(AppError::NotFound)?;
    if !role.is_owner() {
        return Err(AppError::Forbidden);
    }
    Ok(integration)
}

pub async fn retire_form(
    current: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let integration = owned(&current, path.into_inner()).await?;
    retire_step(&current.viewer, RetireFrom::Developer, integration.id, None).await
}

pub async fn retire(
    current: CurrentUser,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<RetireForm>,
) -> Result<HttpResponse, AppError> {
    let integration = owned(&current, path.into_inner()).await?;
    retire_step(
        &current.viewer,
        RetireFrom::Developer,
        integration.id,
        Some(form.confirm_name),
    )
    .await
}

#[derive(Template)]
#[template(path = "developer/reactivation.html")]
struct ReactivationPage<'a> {
    ctx: PageContext,
    integration: &'a Integration,
    reason: String,
    error: Option<String>,
    reason_max: usize,
}

fn reactivation_page(
    current: &CurrentUser,
    integration: &Integration,
    reason: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    render_with(
        status,
        &ReactivationPage {
            ctx: current
                .viewer
                .page(format!("Reactivate {}", integration.display_name)),
            integration,
            reason,
            error,
            reason_max: NOTE_MAX,
        },
    )
}

pub async fn reactivation_form(
    current: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let integration = owned(&current, path.into_inner()).await?;
    if !integration.status.is_inactive() {
        current.viewer.flash(
            FlashLevel::Info,
            "Only an integration revoked for inactivity needs reactivation.",
        );
        return Ok(redirect(&format!(
            "/developer/integrations/{}",
            integration.id
        )));
    }
    reactivation_page(&current, &integration, String::new(), None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct ReactivationForm {
    #[serde(default)]
    reason: String,
}

pub async fn reactivation_submit(
    current: CurrentUser,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<ReactivationForm>,
) -> Result<HttpResponse, AppError> {
    let integration = owned(&current, path.into_inner()).await?;
    let reason = match Note::parse(&form.reason) {
        Ok(r) => r,
        Err(e) => {
            return reactivation_page(
                &current,
                &integration,
                form.reason,
                Some(e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    };
    let state = current.viewer.state.clone();
    let (rc, settings, i) = (
        current.viewer.context.clone(),
        state.settings.clone(),
        integration.clone(),
    );
    let result = db::try_transaction(&state.pool, move |c| {
        lifecycle::request_reactivation(c, &rc.ctx(), &settings, &i, &reason)
    })
    .await;
    match result {
        Ok(()) => current.viewer.flash(
            FlashLevel::Success,
            "Your request is with ConCat's admins. You will get an email when they decide.",
        ),
        Err(ReactivationError::Other(e)) => return Err(e.into()),
        Err(e) => current.viewer.flash(FlashLevel::Info, e.to_string()),
    }
    Ok(redirect(&format!(
        "/developer/integrations/{}",
        integration.id
    )))
}

/// The pending reactivation request of an integration, for its page.
pub fn pending_request(
    c: &mut crate::db::DbConn,
    integration: &Integration,
) -> anyhow::Result<Option<reactivations::ReactivationRequest>> {
    if !integration.status.is_inactive() {
        return Ok(None);
    }
    Ok(reactivations::pending_for(c, &integration.id)?)
}
