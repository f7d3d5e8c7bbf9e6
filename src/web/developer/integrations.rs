use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::access;
use crate::auth::api_credentials::{self, IssueError, Overlap};
use crate::db;
use crate::db::models::api_secrets::{self, ApiSecretRow, MAX_ACTIVE};
use crate::db::models::api_usage;
use crate::db::models::authorizations::{self as auths, Authorization, AuthorizationStatus};
use crate::db::models::developer_accounts::{self as accounts, DeveloperAccount, MemberRole};
use crate::db::models::integrations::{self, Integration};
use crate::db::models::organizations::Organization;
use crate::db::models::reactivations::ReactivationRequest;
use crate::domain::{AppName, UseCase, USE_CASE_MAX};
use crate::errors::AppError;
use crate::lifecycle;
use crate::web::forms::{when, FieldErrors};
use crate::web::session::csrf::NoFields;
use crate::web::session::FlashLevel;
use crate::web::session::{CsrfForm, CurrentUser};
use crate::web::shared::confirm::{confirm_page, Confirm};
use crate::web::shared::secret_page;
use crate::web::shared::USAGE_DAYS;
use crate::web::{charts, redirect, render, render_with, PageContext};

pub struct IntegrationView {
    pub integration: Integration,
    pub role: MemberRole,
    pub secrets: Vec<ApiSecretRow>,
    /// Every authorization by an organization, newest first (active and revoked).
    pub auths: Vec<(Authorization, Organization)>,
    pub pending_reactivation: Option<ReactivationRequest>,
    /// A ConCat admin suspended the integration's developer account.
    pub account_suspended: bool,
    pub now: NaiveDateTime,
}

impl IntegrationView {
    fn load(
        c: &mut db::DbConn,
        integration: Integration,
        role: MemberRole,
        now: NaiveDateTime,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            secrets: api_secrets::active(c, &integration.id, now)?,
            auths: auths::for_integration(c, &integration.id)?,
            pending_reactivation: super::lifecycle::pending_request(c, &integration)?,
            account_suspended: accounts::is_suspended(c, &integration.account_id)?,
            integration,
            role,
            now,
        })
    }

    pub fn is_owner(&self) -> bool {
        self.role.is_owner()
    }

    pub fn active_auths(&self) -> Vec<&(Authorization, Organization)> {
        self.auths
            .iter()
            .filter(|(a, _)| a.status.is_active())
            .collect()
    }

    /// "Revoked for inactivity on … (N days)" once the warning period has begun.
    pub fn countdown(&self) -> Option<(String, i64)> {
        self.integration
            .inactivity_countdown(self.now)
            .map(|(d, n)| (when(&d), n))
    }

    /// Organizations that authorized the integration once and revoked it since.
    pub fn has_revoked(&self) -> bool {
        self.auths.iter().any(|(a, _)| !a.status.is_active())
    }

    /// Revoked authorizations whose data deletion is not confirmed yet.
    pub fn open_duties(&self) -> Vec<&(Authorization, Organization)> {
        self.auths
            .iter()
            .filter(|(a, _)| {
                a.status == AuthorizationStatus::Revoked && a.deletion_confirmed_at.is_none()
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "developer/dashboard.html")]
struct DashboardPage {
    ctx: PageContext,
    accounts: Vec<(DeveloperAccount, MemberRole)>,
    views: Vec<IntegrationView>,
    retired: Vec<IntegrationView>,
}

impl DashboardPage {
    fn when(&self, t: &NaiveDateTime) -> String {
        when(t)
    }
}

pub async fn dashboard(current: CurrentUser) -> Result<HttpResponse, AppError> {
    let uid = current.user.id.clone();
    let now = current.viewer.context.now;
    let (accounts, views, retired) = db::run(&current.viewer.state.pool, move |c| {
        let accounts = accounts::for_user(c, &uid)?;
        let mut views = Vec::new();
        for (integration, role) in integrations::for_member(c, &uid)? {
            views.push(IntegrationView::load(c, integration, role, now)?);
        }
        // Retired integrations leave the list, but their open deletion duties stay in view.
        let mut retired = Vec::new();
        for (integration, role) in integrations::retired_for_member(c, &uid)? {
            let view = IntegrationView::load(c, integration, role, now)?;
            if !view.open_duties().is_empty() {
                retired.push(view);
            }
        }
        Ok((accounts, views, retired))
    })
    .await?;
    render(&DashboardPage {
        ctx: current.viewer.page("Your integrations"),
        accounts,
        views,
        retired,
    })
}

/// Loads the integration through the user's membership: 404 for anyone else's.
async fn load(current: &CurrentUser, id: String) -> Result<IntegrationView, AppError> {
    let uid = current.user.id.clone();
    let now = current.viewer.context.now;
    db::run(&current.viewer.state.pool, move |c| {
        let Some((integration, role)) = integrations::find_for_member(c, &id, &uid)? else {
            return Ok(None);
        };
        Ok(Some(IntegrationView::load(c, integration, role, now)?))
    })
    .await?
    .ok_or(AppError::NotFound)
}

/// Only the account's owners manage secrets.
async fn load_as_owner(current: &CurrentUser, id: String) -> Result<IntegrationView, AppError> {
    let view = load(current, id).await?;
    if !view.is_owner() {
        return Err(AppError::Forbidden);
    }
    Ok(view)
}

#[derive(Template)]
#[template(path = "developer/integration.html")]
struct IntegrationPage {
    ctx: PageContext,
    view: IntegrationView,
    max_active: usize,
}

impl IntegrationPage {
    fn when(&self, t: &NaiveDateTime) -> String {
        when(t)
    }
}

pub async fn show(current: CurrentUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let view = load(&current, id.into_inner()).await?;
    render(&IntegrationPage {
        ctx: current.viewer.page(view.integration.display_name.clone()),
        view,
        max_active: MAX_ACTIVE,
    })
}

fn issue_refused(
    current: &CurrentUser,
    integration: &Integration,
    e: IssueError,
) -> Result<HttpResponse, AppError> {
    let message = match e {
        IssueError::TooManyActive => format!("This integration already has {MAX_ACTIVE} active secrets. Revoke one before creating another."),
        IssueError::NotActive => "This integration is not active, so it cannot get new secrets.".to_string(),
        IssueError::AccountSuspended => "Your developer account is suspended by ConCat, so no secret can be created or rolled until it is reinstated. Contact ConCat support.".to_string(),
        IssueError::Db(e) => return Err(e.into()),
        IssueError::Other(e) => return Err(e.into()),
    };
    current.viewer.flash(FlashLevel::Error, message);
    Ok(redirect(&format!(
        "/developer/integrations/{}",
        integration.id
    )))
}

pub async fn create_secret(
    current: CurrentUser,
    id: web::Path<String>,
    _f: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let view = load_as_owner(&current, id.into_inner()).await?;
    let state = current.viewer.state.clone();
    let (rc, integration) = (current.viewer.context.clone(), view.integration.clone());
    let result = db::try_transaction_then(
        &state.pool,
        move |c| api_credentials::create_secret(c, &rc.ctx(), &integration),
        state
            .api
            .on_commit_invalidate_integration(&view.integration.id),
    )
    .await;
    match result {
        Ok(secret) => secret_page(
            current.viewer.page("Your new API secret"),
            &view.integration,
            &secret,
        ),
        Err(e) => issue_refused(&current, &view.integration, e),
    }
}

#[derive(Deserialize)]
pub struct RollForm {
    #[serde(default)]
    old_expires: String,
    /// `yes` once the owner confirmed that the current secrets stop at once (`now`).
    #[serde(default)]
    confirm: String,
}

/// What stops when the current secrets stop working (for the confirmation steps).
fn stop_consequences(view: &IntegrationView, revoking: usize) -> Vec<String> {
    let left = view.secrets.len().saturating_sub(revoking);
    let mut lines = vec![format!(
        "API requests with {} are refused at once (401), wherever it is deployed.",
        if revoking == 1 {
            "this secret"
        } else {
            "the current secrets"
        }
    )];
    if left == 0 && revoking > 0 {
        lines.push(format!(
            "It is {}'s only active secret: the integration stops working until you deploy a new one.",
            view.integration.display_name
        ));
    }
    lines.push("This cannot be undone.".into());
    lines
}

/// GET: the confirmation step of revoking one secret.
pub async fn revoke_secret_confirm(
    current: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, secret_id) = path.into_inner();
    let view = load_as_owner(&current, id).await?;
    let secret = view
        .secrets
        .iter()
        .find(|s| s.id == secret_id)
        .ok_or(AppError::NotFound)?;
    let question = format!("Revoke the secret {}…?", secret.prefix);
    let action = format!(
        "/developer/integrations/{}/secrets/{}/revoke",
        view.integration.id, secret.id
    );
    let back = format!("/developer/integrations/{}", view.integration.id);
    confirm_page(
        current.viewer.page(question.clone()),
        Confirm {
            question: &question,
            consequences: &stop_consequences(&view, 1),
            action: &action,
            fields: &[],
            button: "Revoke secret",
            back: &back,
        },
    )
}

pub async fn roll_secret(
    current: CurrentUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<RollForm>,
) -> Result<HttpResponse, AppError> {
    let view = load_as_owner(&current, id.into_inner()).await?;
    let Some(overlap) = Overlap::parse(&form.old_expires) else {
        current.viewer.flash(
            FlashLevel::Error,
            "Choose when the current secret should stop working.",
        );
        return Ok(redirect(&format!(
            "/developer/integrations/{}",
            view.integration.id
        )));
    };
    if overlap == Overlap::Now && form.confirm != "yes" && !view.secrets.is_empty() {
        // The current secrets would stop at once: say so first (nothing has changed yet).
        let action = format!(
            "/developer/integrations/{}/secrets/roll",
            view.integration.id
        );
        let back = format!("/developer/integrations/{}", view.integration.id);
        let mut lines = vec!["A new secret is created and shown once.".to_string()];
        lines.extend(stop_consequences(&view, view.secrets.len()));
        return confirm_page(
            current.viewer.page("Roll the secret now?"),
            Confirm {
                question: "Roll the secret now?",
                consequences: &lines,
                action: &action,
                fields: &[("old_expires", "now"), ("confirm", "yes")],
                button: "Roll now",
                back: &back,
            },
        );
    }
    let state = current.viewer.state.clone();
    let (rc, integration) = (current.viewer.context.clone(), view.integration.clone());
    let result = db::try_transaction_then(
        &state.pool,
        move |c| api_credentials::roll_secret(c, &rc.ctx(), &integration, overlap),
        state
            .api
            .on_commit_invalidate_integration(&view.integration.id),
    )
    .await;
    match result {
        Ok(secret) => secret_page(
            current.viewer.page("Your new API secret"),
            &view.integration,
            &secret,
        ),
        Err(e) => issue_refused(&current, &view.integration, e),
    }
}

pub async fn revoke_secret(
    current: CurrentUser,
    path: web::Path<(String, String)>,
    _f: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (id, secret_id) = path.into_inner();
    let view = load_as_owner(&current, id).await?;
    let state = current.viewer.state.clone();
    let (rc, integration_id) = (current.viewer.context.clone(), view.integration.id.clone());
    let prefix = view
        .secrets
        .iter()
        .find(|s| s.id == secret_id)
        .map(|s| s.prefix.clone());
    let revoked = db::transaction_then(
        &state.pool,
        move |c| {
            api_credentials::revoke_secret(
                c,
                &rc.ctx(),
                &integration_id,
                &secret_id,
                prefix.as_deref(),
            )
        },
        state
            .api
            .on_commit_invalidate_integration(&view.integration.id),
    )
    .await?;
    if !revoked {
        return Err(AppError::NotFound);
    }
    current.viewer.flash(
        FlashLevel::Success,
        "The secret was revoked. It no longer works.",
    );
    Ok(redirect(&format!(
        "/developer/integrations/{}",
        view.integration.id
    )))
}

#[derive(Template)]
#[template(path = "developer/request_integration.html")]
struct RequestIntegrationPage {
    ctx: PageContext,
    account: DeveloperAccount,
    app_name: String,
    use_case: String,
    errors: FieldErrors,
    use_case_max: usize,
}

/// The account, when the user owns it (members may look, only owners ask for integrations).
async fn owned_account(current: &CurrentUser, id: String) -> Result<DeveloperAccount, AppError> {
    let uid = current.user.id.clone();
    let found = db::run(&current.viewer.state.pool, move |c| {
        let role = accounts::role_of(c, &id, &uid)?;
        Ok(match role {
            Some(r) => accounts::find(c, &id)?.map(|a| (a, r)),
            None => None,
        })
    })
    .await?;
    match found {
        None => Err(AppError::NotFound),
        Some((_, role)) if !role.is_owner() => Err(AppError::Forbidden),
        Some((account, _)) => Ok(account),
    }
}

pub async fn request_form(
    current: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let account = owned_account(&current, id.into_inner()).await?;
    render(&RequestIntegrationPage {
        ctx: current.viewer.page("Request another integration"),
        account,
        app_name: String::new(),
        use_case: String::new(),
        errors: FieldErrors::default(),
        use_case_max: USE_CASE_MAX,
    })
}

#[derive(Deserialize)]
pub struct RequestIntegrationForm {
    #[serde(default)]
    app_name: String,
    #[serde(default)]
    use_case: String,
}

pub async fn request_submit(
    current: CurrentUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<RequestIntegrationForm>,
) -> Result<HttpResponse, AppError> {
    let account = owned_account(&current, id.into_inner()).await?;
    let mut errors = FieldErrors::default();
    let app_name = errors.take("app_name", AppName::parse(&form.app_name));
    let use_case = errors.take("use_case", UseCase::parse(&form.use_case));
    let (Some(app_name), Some(use_case)) = (app_name, use_case) else {
        return render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &RequestIntegrationPage {
                ctx: current.viewer.page("Request another integration"),
                account,
                app_name: form.app_name,
                use_case: form.use_case,
                errors,
                use_case_max: USE_CASE_MAX,
            },
        );
    };
    let wanted = access::AdditionalIntegration { app_name, use_case };
    let state = current.viewer.state.clone();
    let (settings, rc, user, acct) = (
        state.settings.clone(),
        current.viewer.context.clone(),
        current.user.clone(),
        account.clone(),
    );
    db::transaction(&state.pool, move |c| {
        access::submit_additional(c, &rc.ctx(), &settings, &user, &acct, &wanted)
    })
    .await?;
    state.mail_queued();
    current.viewer.flash(
        FlashLevel::Success,
        "Your request was sent to ConCat for review. We will email you when it is decided.",
    );
    Ok(redirect("/developer"))
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    note: String,
}

/// "Confirm data deleted": the owner attests that the organization's data is gone.
pub async fn confirm_deletion(
    current: CurrentUser,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    let (id, auth_id) = path.into_inner();
    let view = load_as_owner(&current, id).await?;
    let Some((auth, org)) = view.auths.iter().find(|(a, _)| a.id == auth_id).cloned() else {
        return Err(AppError::NotFound);
    };
    let note = form
        .note
        .trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(1000)
        .collect::<String>();
    let state = current.viewer.state.clone();
    let (rc, iid) = (current.viewer.context.clone(), view.integration.id.clone());
    let confirmed = db::transaction(&state.pool, move |c| {
        let note = Some(note.as_str()).filter(|n| !n.is_empty());
        lifecycle::confirm_deletion(c, &rc.ctx(), &iid, &auth.id, &org.public_id, note)
    })
    .await?;
    let message = if confirmed {
        "Thank you. The deletion is recorded and visible to the organization."
    } else {
        "There is no open deletion duty for that authorization."
    };
    current.viewer.flash(
        if confirmed {
            FlashLevel::Success
        } else {
            FlashLevel::Info
        },
        message,
    );
    Ok(redirect(&format!(
        "/developer/integrations/{}",
        view.integration.id
    )))
}

/// One row of the usage table.
pub struct UsageDay {
    pub day: String,
    pub total: u64,
    pub ok: u64,
    pub client_errors: u64,
    pub server_errors: u64,
}

#[derive(Template)]
#[template(path = "developer/usage.html")]
struct UsagePage {
    ctx: PageContext,
    integration: Integration,
    charts: Vec<charts::Chart>,
    days: Vec<UsageDay>,
    orgs: Vec<(String, u64)>,
    /// Requests made with the `_apikey` query parameter.
    query_key: i64,
    /// Refused requests that named this API ID with a secret that did not match, per day
    /// (newest first): not counted above.
    unverified: Vec<(String, i64)>,
    unverified_total: i64,
}

/// Requests per day for the last 30 days, by status class and by organization.
pub async fn usage(current: CurrentUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let view = load(&current, id.into_inner()).await?;
    let today = current.viewer.context.now.date();
    let from = today - chrono::Duration::days(USAGE_DAYS - 1);
    let api_id = view.integration.api_id.clone();
    let (rows, unverified) = db::run(&current.viewer.state.pool, move |c| {
        Ok((
            api_usage::daily_rollups_for(c, &api_id, from)?,
            api_usage::unverified_daily_for(c, &api_id, from)?,
        ))
    })
    .await?;
    let unverified_total: i64 = unverified.iter().map(|r| r.1).sum();
    let unverified = unverified.into_iter().map(|(d, n, _)| (d, n)).collect();
    let query_key: i64 = rows.iter().map(|(_, _, r)| r.query_key_requests).sum();
    let days: Vec<chrono::NaiveDate> = (0..USAGE_DAYS)
        .map(|d| from + chrono::Duration::days(d))
        .collect();
    let index = |day: &str| {
        chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .ok()
            .and_then(|d| days.iter().position(|x| *x == d))
    };
    let org_name = |org_id: &str| -> String {
        if org_id.is_empty() {
            return "No organization (e.g. /me)".into();
        }
        view.auths
            .iter()
            .find(|(_, o)| o.id == org_id)
            .map(|(_, o)| o.name.clone())
            .unwrap_or_else(|| "Another organization".into())
    };
    let classes = ["2xx", "3xx", "4xx", "5xx"];
    let mut by_class = vec![vec![0u64; days.len()]; classes.len()];
    let mut by_org: Vec<(String, Vec<u64>)> = Vec::new();
    for (day, org_id, r) in &rows {
        let Some(d) = index(day) else { continue };
        let n = u64::try_from(r.requests).unwrap_or(0);
        let classes = [
            r.requests - r.requests_3xx - r.requests_4xx - r.requests_5xx,
            r.requests_3xx,
            r.requests_4xx,
            r.requests_5xx,
        ];
        for (series, k) in by_class.iter_mut().zip(classes) {
            series[d] += u64::try_from(k).unwrap_or(0);
        }
        let name = org_name(org_id);
        match by_org.iter_mut().find(|(o, _)| *o == name) {
            Some((_, v)) => v[d] += n,
            None => {
                let mut v = vec![0u64; days.len()];
                v[d] = n;
                by_org.push((name, v));
            }
        }
    }
    by_org.sort_by_key(|(_, v)| std::cmp::Reverse(v.iter().sum::<u64>()));
    let class_series: Vec<(String, Vec<u64>)> = classes
        .iter()
        .zip(by_class.iter())
        .map(|(c, v)| (c.to_string(), v.clone()))
        .filter(|(c, v)| c != "3xx" || v.iter().any(|n| *n > 0))
        .collect();
    let table: Vec<UsageDay> = days
        .iter()
        .enumerate()
        .rev()
        .filter_map(|(d, day)| {
            let total: u64 = by_class.iter().map(|v| v[d]).sum();
            (total > 0).then(|| UsageDay {
                day: day.format("%Y-%m-%d").to_string(),
                total,
                ok: by_class[0][d],
                client_errors: by_class[2][d],
                server_errors: by_class[3][d],
            })
        })
        .collect();
    let orgs = by_org
        .iter()
        .map(|(name, v)| (name.clone(), v.iter().sum()))
        .collect();
    let charts = vec![
        charts::stacked(
            "by-status",
            "Requests per day by status",
            &days,
            &class_series,
            charts::Colours::Status,
        ),
        charts::stacked(
            "by-org",
            "Requests per day by organization",
            &days,
            &by_org,
            charts::Colours::Named,
        ),
    ];
    render(&UsagePage {
        ctx: current
            .viewer
            .page(format!("API usage · {}", view.integration.display_name)),
        integration: view.integration,
        charts,
        days: table,
        orgs,
        query_key,
        unverified,
        unverified_total,
    })
}
