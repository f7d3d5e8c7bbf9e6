//! Admin: suspend and reinstate a developer account (from the accounts table on `/admin/api`).
//! Each change is confirmed on its own page with a reason, which is emailed to the owners.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db;
use crate::db::models::developer_accounts::{self as accounts, DeveloperAccount};
use crate::domain::{Note, NOTE_MAX};
use crate::errors::AppError;
use crate::suspension::{self, SuspensionError};
use crate::web::session::FlashLevel;
use crate::web::session::{AdminUser, CsrfForm};
use crate::web::{redirect, render_with, PageContext};

/// Where the accounts table is.
pub const ACCOUNTS_TABLE: &str = "/admin/api#accounts";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Suspend,
    Reinstate,
}

#[derive(Template)]
#[template(path = "admin/account_status.html")]
struct ConfirmPage {
    ctx: PageContext,
    account: DeveloperAccount,
    /// Active owners (name, email): they receive the reason.
    owners: Vec<(String, String)>,
    suspend: bool,
    action: String,
    reason: String,
    error: Option<String>,
    note_max: usize,
}

impl ConfirmPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        crate::web::forms::when(t)
    }
}

async fn confirm_page(
    admin: &AdminUser,
    status: StatusCode,
    id: String,
    change: Change,
    reason: String,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let key = id.clone();
    let found = db::run(&admin.viewer.state.pool, move |c| {
        let Some(account) = accounts::find(c, &key)? else {
            return Ok(None);
        };
        let owners = accounts::owners(c, &key)?;
        Ok(Some((account, owners)))
    })
    .await?;
    let Some((account, owners)) = found else {
        return Err(AppError::NotFound);
    };
    let (verb, path) = match change {
        Change::Suspend => ("Suspend", "suspend"),
        Change::Reinstate => ("Reinstate", "reinstate"),
    };
    render_with(
        status,
        &ConfirmPage {
            ctx: admin
                .viewer
                .page(format!("{verb} {}", account.company_name)),
            owners: owners.into_iter().map(|(e, n)| (n, e)).collect(),
            suspend: change == Change::Suspend,
            action: format!("/admin/accounts/{id}/{path}"),
            account,
            reason,
            error,
            note_max: NOTE_MAX,
        },
    )
}

pub async fn suspend_form(
    admin: AdminUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    confirm_page(
        &admin,
        StatusCode::OK,
        id.into_inner(),
        Change::Suspend,
        String::new(),
        None,
    )
    .await
}

pub async fn reinstate_form(
    admin: AdminUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    confirm_page(
        &admin,
        StatusCode::OK,
        id.into_inner(),
        Change::Reinstate,
        String::new(),
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
}

pub async fn suspend(
    admin: AdminUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    change(admin, id.into_inner(), Change::Suspend, form.reason).await
}

pub async fn reinstate(
    admin: AdminUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Result<HttpResponse, AppError> {
    change(admin, id.into_inner(), Change::Reinstate, form.reason).await
}

#[tracing::instrument(name = "account_status", skip(admin, typed), fields(account = %id))]
async fn change(
    admin: AdminUser,
    id: String,
    change: Change,
    typed: String,
) -> Result<HttpResponse, AppError> {
    let reason = match Note::parse(&typed) {
        Ok(r) => r,
        Err(e) => {
            return confirm_page(
                &admin,
                StatusCode::UNPROCESSABLE_ENTITY,
                id,
                change,
                typed,
                Some(e),
            )
            .await
        }
    };
    let state = admin.viewer.state.clone();
    let (rc, settings, key) = (
        admin.viewer.context.clone(),
        state.settings.clone(),
        id.clone(),
    );
    let outcome = db::transaction_then(
        &state.pool,
        move |c| {
            let ctx = rc.ctx();
            let result = match change {
                Change::Suspend => suspension::suspend_account(c, &ctx, &settings, &key, &reason),
                Change::Reinstate => {
                    suspension::reinstate_account(c, &ctx, &settings, &key, &reason)
                }
            };
            match result {
                Err(SuspensionError::Other(e)) => Err(e),
                other => Ok(other),
            }
        },
        state.api.on_commit_invalidate_account(&id),
    )
    .await?;
    match outcome {
        Ok(account) => {
            state.mail_queued();
            let message = match change {
                Change::Suspend => format!(
                    "{} is suspended: its integrations' API requests are refused, and its owners were emailed the reason.",
                    account.company_name
                ),
                Change::Reinstate => format!(
                    "{} is reinstated: its integrations' API requests work again, and its owners were emailed.",
                    account.company_name
                ),
            };
            admin.viewer.flash(FlashLevel::Success, message);
        }
        Err(SuspensionError::AccountNotFound) => return Err(AppError::NotFound),
        Err(e) => admin.viewer.flash(FlashLevel::Error, e.to_string()),
    }
    Ok(redirect(ACCOUNTS_TABLE))
}
