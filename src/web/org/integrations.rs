//! The organization's Integrations page: authorize an integration by its API ID with scopes,
//! change scopes, revoke (the 30-day deletion duty starts), and see each duty's state. ConCat
//! admins reach the same pages for any organization (support, at the organization's request).

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;

use crate::authorizations::{self, AuthorizeError};
use crate::db;
use crate::db::models::authorizations::{self as auths, Access, Authorization, Via};
use crate::db::models::developer_accounts::{self as accounts, DeveloperAccount};
use crate::db::models::integrations::{self, Integration};
use crate::db::models::organizations::{self, Organization};
use crate::db::models::users;
use crate::domain::ApiId;
use crate::errors::AppError;
use crate::web::forms::when;
use crate::web::session::csrf::NoFields;
use crate::web::session::FlashLevel;
use crate::web::session::{CsrfForm, CurrentUser};
use crate::web::{redirect, render, render_with, PageContext};

/// An org admin of `{org}`, or a ConCat admin acting as support for it.
pub struct OrgActor {
    pub current: CurrentUser,
    pub org: Organization,
    pub support: bool,
}

impl OrgActor {
    fn via(&self) -> Via {
        if self.support {
            Via::Support
        } else {
            Via::Organization
        }
    }
}

impl FromRequest for OrgActor {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let public_id = req.match_info().get("org").unwrap_or_default().to_string();
        let current = CurrentUser::from_request(req, payload);
        Box::pin(async move {
            let current = current.await?;
            let (uid, is_admin) = (current.user.id.clone(), current.user.is_concat_admin);
            let found = db::run(&current.viewer.state.pool, move |c| {
                if let Some(org) = organizations::find_for_admin(c, &public_id, &uid)? {
                    return Ok(Some((org, false)));
                }
                if is_admin {
                    return Ok(organizations::find_by_public_id(c, &public_id)?.map(|o| (o, true)));
                }
                Ok(None)
            })
            .await?;
            let (org, support) = found.ok_or(AppError::NotFound)?;
            Ok(OrgActor {
                current,
                org,
                support,
            })
        })
    }
}

pub struct Preview {
    pub integration: Integration,
    pub account: DeveloperAccount,
}

#[derive(Template)]
#[template(path = "org/integrations.html")]
struct IntegrationsPage {
    ctx: PageContext,
    org: Organization,
    support: bool,
    /// Each authorization with its integration, who authorized it, and who confirmed the
    /// deletion (if anyone did).
    rows: Vec<(Authorization, Integration, String, String)>,
    api_id: String,
    lookup_error: Option<String>,
    preview: Option<Preview>,
    now: NaiveDateTime,
}

impl IntegrationsPage {
    fn when(&self, t: &NaiveDateTime) -> String {
        when(t)
    }

    /// Whether the integration has an active authorization (a revoked row then offers nothing).
    fn authorized_again(&self, integration_id: &str) -> bool {
        self.rows
            .iter()
            .any(|(a, i, _, _)| i.id == integration_id && a.status.is_active())
    }
}

#[derive(Deserialize)]
pub struct LookupQuery {
    api_id: Option<String>,
}

async fn page(
    actor: &OrgActor,
    status: StatusCode,
    api_id: String,
    lookup_error: Option<String>,
    preview: Option<Preview>,
) -> Result<HttpResponse, AppError> {
    let oid = actor.org.id.clone();
    let rows = db::run(&actor.current.viewer.state.pool, move |c| {
        let mut out = Vec::new();
        for (a, i) in auths::for_org(c, &oid)? {
            let mut name_of = |id: &Option<String>| -> anyhow::Result<String> {
                Ok(match id {
                    Some(uid) => users::find(c, uid)?
                        .map(|u| u.display_name)
                        .unwrap_or_default(),
                    None => String::new(),
                })
            };
            let by = name_of(&a.authorized_by_user_id)?;
            let confirmed_by = name_of(&a.deletion_confirmed_by_user_id)?;
            out.push((a, i, by, confirmed_by));
        }
        Ok(out)
    })
    .await?;
    render_with(
        status,
        &IntegrationsPage {
            ctx: actor
                .current
                .viewer
                .page(format!("{} integrations", actor.org.name)),
            org: actor.org.clone(),
            support: actor.support,
            rows,
            api_id,
            lookup_error,
            preview,
            now: actor.current.viewer.context.now,
        },
    )
}

/// Looks an API ID up: the integration and its developer account, or a message.
async fn lookup(actor: &OrgActor, raw: &str) -> Result<Result<Preview, String>, AppError> {
    let api_id = match ApiId::parse(raw) {
        Ok(a) => a,
        Err(msg) => return Ok(Err(msg)),
    };
    let found = db::run(&actor.current.viewer.state.pool, move |c| {
        let Some(integration) = integrations::find_by_api_id(c, api_id.as_str())? else {
            return Ok(None);
        };
        let account = accounts::find(c, &integration.account_id)?;
        Ok(account.map(|account| Preview {
            integration,
            account,
        }))
    })
    .await?;
    Ok(match found {
        None => Err("No integration has that API ID. Check it with the developer.".into()),
        Some(p) if !p.integration.status.is_active() => {
            Err("That integration is no longer active, so it cannot be authorized.".into())
        }
        Some(p) => Ok(p),
    })
}

pub async fn show(
    actor: OrgActor,
    query: web::Query<LookupQuery>,
) -> Result<HttpResponse, AppError> {
    let raw = query.into_inner().api_id.unwrap_or_default();
    if raw.trim().is_empty() {
        return page(&actor, StatusCode::OK, String::new(), None, None).await;
    }
    match lookup(&actor, &raw).await? {
        Ok(preview) => page(&actor, StatusCode::OK, raw, None, Some(preview)).await,
        Err(msg) => {
            page(
                &actor,
                StatusCode::UNPROCESSABLE_ENTITY,
                raw,
                Some(msg),
                None,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct AuthorizeForm {
    #[serde(default)]
    api_id: String,
    events_read: Option<String>,
    events_write: Option<String>,
    include_drafts: Option<String>,
}

pub async fn authorize(
    actor: OrgActor,
    CsrfForm(form): CsrfForm<AuthorizeForm>,
) -> Result<HttpResponse, AppError> {
    let preview = match lookup(&actor, &form.api_id).await? {
        Ok(p) => p,
        Err(msg) => {
            return page(
                &actor,
                StatusCode::UNPROCESSABLE_ENTITY,
                form.api_id,
                Some(msg),
                None,
            )
            .await
        }
    };
    let scopes = match authorizations::scopes_from(
        form.events_read.is_some(),
        form.events_write.is_some(),
    ) {
        Ok(s) => s,
        Err(msg) => {
            return page(
                &actor,
                StatusCode::UNPROCESSABLE_ENTITY,
                form.api_id,
                Some(msg),
                Some(preview),
            )
            .await
        }
    };
    let include_drafts = form.include_drafts.is_some();
    let state = actor.current.viewer.state.clone();
    let (rc, org, via) = (
        actor.current.viewer.context.clone(),
        actor.org.clone(),
        actor.via(),
    );
    let integration = preview.integration.clone();
    let result = db::try_transaction_then(
        &state.pool,
        move |c| {
            let access = Access {
                scopes,
                include_drafts,
            };
            authorizations::authorize(c, &rc.ctx(), &org, Some(integration), &access, via)
                .map(|_| ())
        },
        state
            .api
            .on_commit_invalidate_integration(&preview.integration.id),
    )
    .await;
    match result {
        Ok(()) => {
            state.mail_queued();
            actor.current.viewer.flash(
                FlashLevel::Success,
                format!(
                    "{} is authorized. Its developers have been emailed your organization's ID.",
                    preview.integration.display_name
                ),
            );
            Ok(redirect(&format!(
                "/org/{}/integrations",
                actor.org.public_id
            )))
        }
        Err(AuthorizeError::Other(e)) => Err(e.into()),
        Err(e) => {
            page(
                &actor,
                StatusCode::CONFLICT,
                form.api_id,
                Some(e.to_string()),
                None,
            )
            .await
        }
    }
}

async fn load(actor: &OrgActor, id: String) -> Result<(Authorization, Integration), AppError> {
    let oid = actor.org.id.clone();
    db::run(&actor.current.viewer.state.pool, move |c| {
        let Some(a) = auths::find_in_org(c, &oid, &id)? else {
            return Ok(None);
        };
        Ok(integrations::find(c, &a.integration_id)?.map(|i| (a, i)))
    })
    .await?
    .ok_or(AppError::NotFound)
}

#[derive(Template)]
#[template(path = "org/revoke_confirm.html")]
struct RevokeConfirmPage {
    ctx: PageContext,
    org: Organization,
    support: bool,
    auth: Authorization,
    integration: Integration,
    company: String,
    /// How many of the developer account's owners are emailed.
    owners: usize,
    deadline: String,
}

/// GET: what revoking will do (the integration stops at once; its owners are emailed; they must
/// delete the organization's data by the deadline), with the button that does it. Works
/// without JavaScript; nothing changes until the form is posted.
pub async fn revoke_confirm(
    actor: OrgActor,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (auth, integration) = load(&actor, path.into_inner().1).await?;
    if !auth.status.is_active() {
        actor
            .current
            .viewer
            .flash(FlashLevel::Info, "That authorization was already revoked.");
        return Ok(redirect(&format!(
            "/org/{}/integrations",
            actor.org.public_id
        )));
    }
    let account_id = integration.account_id.clone();
    let (company, owners) = db::run(&actor.current.viewer.state.pool, move |c| {
        let company = accounts::find(c, &account_id)?
            .map(|a| a.company_name)
            .unwrap_or_default();
        Ok((company, accounts::owners(c, &account_id)?.len()))
    })
    .await?;
    let deadline = auths::deletion_deadline(actor.current.viewer.context.now)
        .format("%Y-%m-%d")
        .to_string();
    render(&RevokeConfirmPage {
        ctx: actor
            .current
            .viewer
            .page(format!("Revoke {}?", integration.display_name)),
        org: actor.org.clone(),
        support: actor.support,
        auth,
        integration,
        company,
        owners,
        deadline,
    })
}

#[derive(Deserialize)]
pub struct ScopesForm {
    events_read: Option<String>,
    events_write: Option<String>,
    include_drafts: Option<String>,
}

pub async fn scopes(
    actor: OrgActor,
    path: web::Path<(String, String)>,
    CsrfForm(form): CsrfForm<ScopesForm>,
) -> Result<HttpResponse, AppError> {
    let (auth, integration) = load(&actor, path.into_inner().1).await?;
    let integration_id = integration.id.clone();
    let back = format!("/org/{}/integrations", actor.org.public_id);
    let scopes = match authorizations::scopes_from(
        form.events_read.is_some(),
        form.events_write.is_some(),
    ) {
        Ok(s) => s,
        Err(msg) => {
            actor.current.viewer.flash(
                FlashLevel::Error,
                format!("{msg} To remove all access, revoke the integration."),
            );
            return Ok(redirect(&back));
        }
    };
    let include_drafts = form.include_drafts.is_some();
    let state = actor.current.viewer.state.clone();
    let (rc, org, via) = (
        actor.current.viewer.context.clone(),
        actor.org.clone(),
        actor.via(),
    );
    let changed = db::transaction_then(
        &state.pool,
        move |c| {
            let access = Access {
                scopes,
                include_drafts,
            };
            authorizations::change_access(c, &rc.ctx(), &org, &auth, &access, via)
        },
        state.api.on_commit_invalidate_integration(&integration_id),
    )
    .await?;
    let message = if changed {
        "Scopes updated."
    } else {
        "That authorization is no longer active."
    };
    actor.current.viewer.flash(
        if changed {
            FlashLevel::Success
        } else {
            FlashLevel::Error
        },
        message,
    );
    Ok(redirect(&back))
}

pub async fn revoke(
    actor: OrgActor,
    path: web::Path<(String, String)>,
    _f: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (auth, integration) = load(&actor, path.into_inner().1).await?;
    let state = actor.current.viewer.state.clone();
    let (settings, rc, org, via) = (
        state.settings.clone(),
        actor.current.viewer.context.clone(),
        actor.org.clone(),
        actor.via(),
    );
    let name = integration.display_name.clone();
    let integration_id = integration.id.clone();
    let revoked = db::transaction_then(
        &state.pool,
        move |c| authorizations::revoke(c, &rc.ctx(), &settings, &org, &auth, &integration, via),
        state.api.on_commit_invalidate_integration(&integration_id),
    )
    .await?;
    if revoked {
        state.mail_queued();
        actor.current.viewer.flash(FlashLevel::Success, format!("{name} can no longer reach your organization's data. Its developers must delete that data within 30 days."));
    } else {
        actor
            .current
            .viewer
            .flash(FlashLevel::Info, "That authorization was already revoked.");
    }
    Ok(redirect(&format!(
        "/org/{}/integrations",
        actor.org.public_id
    )))
}
