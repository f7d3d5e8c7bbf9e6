//! Developer: retiring an integration (typing its display name to confirm) and asking for the
//! reactivation of an integration revoked for inactivity. The retirement handlers are shared
//! with ConCat admins (`web::admin::lifecycle`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::extract::Viewer;
use crate::auth::session::FlashLevel;
use crate::auth::{CsrfForm, CurrentUser};
use crate::db::models::authorizations::{self as auths, Authorization};
use crate::db::models::developer_accounts::OWNER;
use crate::db::models::integrations::{self, Integration, INACTIVE, RETIRED};
use crate::db::models::organizations::Organization;
use crate::db::models::reactivations;
use crate::db::models::users::User;
use crate::db::{self, Pool};
use crate::domain::{Note, NOTE_MAX};
use crate::errors::AppError;
use crate::lifecycle::{self, ActorRef, ReactivationError, RetireError};
use crate::web::{redirect, render_with, PageContext};

#[derive(Template)]
#[template(path = "developer/retire.html")]
struct RetirePage<'a> {
    ctx: PageContext,
    integration: &'a Integration,
    active: Vec<(Authorization, Organization)>,
    action: String,
    back: String,
    typed: String,
    error: Option<String>,
}

/// The integration (not yet retired) and its active authorizations; 404 when unknown or retired.
async fn load_for_retirement(
    pool: &Pool,
    id: String,
) -> Result<(Integration, Vec<(Authorization, Organization)>), AppError> {
    db::run(pool, move |c| {
        let Some(i) = integrations::find(c, &id)? else {
            return Ok(None);
        };
        if i.status == RETIRED {
            return Ok(None);
        }
        let active = auths::active_of(c, &i.id)?;
        Ok(Some((i, active)))
    })
    .await?
    .ok_or(AppError::NotFound)
}

/// Where a retirement is confirmed from: the integration's page, or the admin list.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RetireFrom {
    Developer,
    Admin,
}

impl RetireFrom {
    fn action(self, id: &str) -> String {
        match self {
            RetireFrom::Developer => format!("/developer/integrations/{id}/retire"),
            RetireFrom::Admin => format!("/admin/integrations/{id}/retire"),
        }
    }

    /// Where "Back" leads, and where a done retirement redirects.
    fn back(self, id: &str) -> String {
        match self {
            RetireFrom::Developer => format!("/developer/integrations/{id}"),
            RetireFrom::Admin => "/admin/integrations".into(),
        }
    }
}

/// Both sides of a retirement: without `typed`, the confirmation page; with it, the retirement
/// (then a redirect) or, when the name does not match, the page again with the error and the
/// typed text. The caller has checked the actor may retire this integration.
pub async fn retire_step(
    viewer: &Viewer,
    user: &User,
    from: RetireFrom,
    id: String,
    typed: Option<String>,
) -> Result<HttpResponse, AppError> {
    let (integration, active) = load_for_retirement(&viewer.state.pool, id).await?;
    let (typed, error, status) = match typed {
        None => (String::new(), None, StatusCode::OK),
        Some(typed) => {
            match do_retire(
                viewer,
                user,
                from == RetireFrom::Admin,
                &integration,
                &typed,
            )
            .await?
            {
                Ok(()) => return Ok(redirect(&from.back(&integration.id))),
                Err(e) => (typed, Some(e), StatusCode::UNPROCESSABLE_ENTITY),
            }
        }
    };
    render_with(
        status,
        &RetirePage {
            ctx: viewer.page(format!("Retire {}", integration.display_name)),
            integration: &integration,
            active,
            action: from.action(&integration.id),
            back: from.back(&integration.id),
            typed,
            error,
        },
    )
}

/// Retires in one transaction, then drops the cached credentials. `Ok(Err(message))` when the
/// confirmation did not match (nothing changed).
async fn do_retire(
    viewer: &Viewer,
    user: &User,
    as_admin: bool,
    integration: &Integration,
    typed: &str,
) -> Result<Result<(), String>, AppError> {
    let state = viewer.state.clone();
    let (now, meta, user, settings, i, typed) = (
        state.clock.now_naive(),
        viewer.meta.clone(),
        user.clone(),
        state.settings.clone(),
        integration.clone(),
        typed.to_string(),
    );
    let result = db::transaction_then(
        &state.pool,
        move |c| {
            let actor = ActorRef {
                user: &user,
                meta: &meta,
                as_admin,
            };
            match lifecycle::retire(c, &settings, &i, &typed, &actor, now) {
                Ok(n) => Ok(Ok(n)),
                Err(RetireError::Other(e)) => Err(e),
                Err(e) => Ok(Err(e)),
            }
        },
        state.api.on_commit_invalidate_integration(&integration.id),
    )
    .await?;
    match result {
        Ok(ended) => {
            let orgs = match ended {
                0 => "No organization had authorized it.".to_string(),
                1 => "One organization's authorization ended; delete its data within 30 days and confirm it here.".to_string(),
                n => format!("{n} organizations' authorizations ended; delete their data within 30 days and confirm it here."),
            };
            viewer.flash(
                FlashLevel::Success,
                format!(
                    "{} is retired. Its secrets no longer work. {orgs}",
                    integration.display_name
                ),
            );
            Ok(Ok(()))
        }
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// Loads the integration for an owner of its account (404 for others, 403 for members).
async fn owned(current: &CurrentUser, id: String) -> Result<Integration, AppError> {
    let uid = current.user.id.clone();
    let (integration, role) = db::run(&current.viewer.state.pool, move |c| {
        Ok(integrations::find_for_member(c, &id, &uid)?)
    })
    .await?
    .ok_or(AppError::NotFound)?;
    if role != OWNER {
        return Err(AppError::Forbidden);
    }
    Ok(integration)
}

pub async fn retire_form(
    current: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let integration = owned(&current, path.into_inner()).await?;
    retire_step(
        &current.viewer,
        &current.user,
        RetireFrom::Developer,
        integration.id,
        None,
    )
    .await
}

pub async fn retire(
    current: CurrentUser,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<RetireForm>,
) -> Result<HttpResponse, AppError> {
    let integration = owned(&current, path.into_inner()).await?;
    retire_step(
        &current.viewer,
        &current.user,
        RetireFrom::Developer,
        integration.id,
        Some(form.confirm_name),
    )
    .await
}

#[derive(Deserialize)]
pub struct RetireForm {
    #[serde(default)]
    pub confirm_name: String,
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
    if integration.status != INACTIVE {
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
    let (now, meta, user, settings, i) = (
        state.clock.now_naive(),
        current.viewer.meta.clone(),
        current.user.clone(),
        state.settings.clone(),
        integration.clone(),
    );
    let result = db::transaction(&state.pool, move |c| {
        let actor = ActorRef {
            user: &user,
            meta: &meta,
            as_admin: false,
        };
        match lifecycle::request_reactivation(c, &settings, &i, &reason, &actor, now) {
            Ok(()) => Ok(Ok(())),
            Err(ReactivationError::Other(e)) => Err(e),
            Err(e) => Ok(Err(e)),
        }
    })
    .await?;
    match result {
        Ok(()) => current.viewer.flash(
            FlashLevel::Success,
            "Your request is with ConCat's admins. You will get an email when they decide.",
        ),
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
    if integration.status != INACTIVE {
        return Ok(None);
    }
    Ok(reactivations::pending_for(c, &integration.id)?)
}
