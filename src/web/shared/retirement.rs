//! Retiring an integration, from its page (developer owners) or from the admin list (ConCat
//! admins): the confirmation page (type the display name) and the retirement itself. The
//! callers check that the actor may retire the integration.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;

use crate::db::models::authorizations::{self as auths, Authorization};
use crate::db::models::integrations::{self, Integration};
use crate::db::models::organizations::Organization;
use crate::db::{self, Pool};
use crate::errors::AppError;
use crate::lifecycle::{self, RetireError};
use crate::web::session::{FlashLevel, Viewer};
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
        if i.status.is_retired() {
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
    from: RetireFrom,
    id: String,
    typed: Option<String>,
) -> Result<HttpResponse, AppError> {
    let (integration, active) = load_for_retirement(&viewer.state.pool, id).await?;
    let (typed, error, status) = match typed {
        None => (String::new(), None, StatusCode::OK),
        Some(typed) => {
            match do_retire(viewer, from == RetireFrom::Admin, &integration, &typed).await? {
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
    as_admin: bool,
    integration: &Integration,
    typed: &str,
) -> Result<Result<(), String>, AppError> {
    let state = viewer.state.clone();
    let (rc, settings, i, typed) = (
        viewer.context.clone(),
        state.settings.clone(),
        integration.clone(),
        typed.to_string(),
    );
    let result = db::try_transaction_then(
        &state.pool,
        move |c| lifecycle::retire(c, &rc.ctx(), &settings, &i, &typed, as_admin),
        state.api.on_commit_invalidate_integration(&integration.id),
    )
    .await;
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
        Err(RetireError::Other(e)) => Err(e.into()),
        Err(e) => Ok(Err(e.to_string())),
    }
}

#[derive(Deserialize)]
pub struct RetireForm {
    #[serde(default)]
    pub confirm_name: String,
}
