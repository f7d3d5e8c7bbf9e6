//! Organizations deciding who may reach their data: authorizing an integration by its API ID
//! (with scopes), changing scopes, revoking (which starts the 30-day deletion duty), and the
//! developer's attestation that the data is deleted. Each step is audited and emailed in its
//! transaction. `via` says whether an org admin acted or ConCat support did, at the
//! organization's request.

use crate::context::Context;
use crate::db::models::authorizations::{self as auths, Access, Authorization, Via};
use crate::db::models::developer_accounts as accounts;
use crate::db::models::integrations::{self, Integration};
use crate::db::models::organizations::Organization;
use crate::db::{lock_key, new_id, DbConn};
use crate::email::messages::{IntegrationAuthorized, IntegrationRevoked};
use crate::email::outbox;
use crate::settings::Settings;

pub const SCOPE_READ: &str = "events:read";
pub const SCOPE_WRITE: &str = "events:write";

/// Granted scopes, from the form's checkboxes; at least one.
pub fn scopes_from(read: bool, write: bool) -> Result<String, String> {
    let mut s = Vec::new();
    if read {
        s.push(SCOPE_READ);
    }
    if write {
        s.push(SCOPE_WRITE);
    }
    if s.is_empty() {
        return Err("Choose at least one scope.".into());
    }
    Ok(s.join(" "))
}

#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    #[error("No integration has that API ID.")]
    Unknown,
    #[error("That integration is no longer active, so it cannot be authorized.")]
    NotActive,
    #[error("This integration is already authorized for the organization.")]
    AlreadyAuthorized,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AuthorizeError {
    fn from(e: diesel::result::Error) -> Self {
        AuthorizeError::Other(e.into())
    }
}

pub fn authorize(
    conn: &mut DbConn,
    ctx: &Context,
    org: &Organization,
    integration: Option<Integration>,
    access: &Access,
    via: Via,
) -> Result<Authorization, AuthorizeError> {
    let scopes = access.scopes.as_str();
    let now = ctx.now;
    let (by, _) = ctx.acting_user()?;
    let integration = integration.ok_or(AuthorizeError::Unknown)?;
    lock_key(
        conn,
        &format!("authorization:{}:{}", org.id, integration.id),
    )?;
    // Re-read under the lock: the integration may have been retired since the preview.
    let integration = integrations::lock(conn, &integration.id)?.ok_or(AuthorizeError::Unknown)?;
    if !integration.status.is_active() {
        return Err(AuthorizeError::NotActive);
    }
    if auths::active_for(conn, &org.id, &integration.id)?.is_some() {
        return Err(AuthorizeError::AlreadyAuthorized);
    }
    let id = new_id();
    let authorization = auths::insert(conn, &id, &org.id, &integration.id, access, by, via, now)?;
    let by_support = via == Via::Support;
    for (email, name) in accounts::owners(conn, &integration.account_id)? {
        let message = IntegrationAuthorized {
            name,
            app_name: integration.display_name.clone(),
            org_name: org.name.clone(),
            org_public_id: org.public_id.clone(),
            scopes: scopes.to_string(),
            by_support,
        };
        outbox::enqueue(
            conn,
            &email,
            &message,
            &format!("authorized:{id}:{}", email.to_lowercase()),
            now,
        )
        .map_err(AuthorizeError::Other)?;
    }
    ctx.audit("authorization.granted")
        .target("organization", &org.id)
        .details(serde_json::json!({ "integration": integration.id, "api_id": integration.api_id, "scopes": scopes, "include_drafts": access.include_drafts, "via": via }))
        .record(conn, now)?;
    Ok(authorization)
}

/// Changes what an active authorization grants: its scopes and whether drafts are included.
pub fn change_access(
    conn: &mut DbConn,
    ctx: &Context,
    org: &Organization,
    auth: &Authorization,
    access: &Access,
    via: Via,
) -> anyhow::Result<bool> {
    if !auths::set_access(conn, &auth.id, access)? {
        return Ok(false);
    }
    ctx.audit("authorization.scopes_changed")
        .target("organization", &org.id)
        .details(serde_json::json!({
            "authorization": auth.id,
            "from": auth.scopes,
            "to": access.scopes,
            "include_drafts_from": auth.include_drafts,
            "include_drafts": access.include_drafts,
            "via": via,
        }))
        .record(conn, ctx.now)?;
    Ok(true)
}

/// Revokes at once; the owners are told what to delete and by when.
pub fn revoke(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    org: &Organization,
    auth: &Authorization,
    integration: &Integration,
    via: Via,
) -> anyhow::Result<bool> {
    let now = ctx.now;
    let (by, _) = ctx.acting_user()?;
    if !auths::revoke(conn, &auth.id, by, via, now)? {
        return Ok(false);
    }
    let deadline = auths::deletion_deadline(now)
        .format("%Y-%m-%d %H:%M UTC")
        .to_string();
    for (email, name) in accounts::owners(conn, &integration.account_id)? {
        let message = IntegrationRevoked {
            name,
            app_name: integration.display_name.clone(),
            org_name: org.name.clone(),
            org_public_id: org.public_id.clone(),
            revoked_at: now.format("%Y-%m-%d %H:%M UTC").to_string(),
            deadline: deadline.clone(),
            by_support: via == Via::Support,
            link: settings.link(&format!("/developer/integrations/{}", integration.id)),
        };
        outbox::enqueue(
            conn,
            &email,
            &message,
            &format!("revoked:{}:{}", auth.id, email.to_lowercase()),
            now,
        )?;
    }
    ctx.audit("authorization.revoked")
        .target("organization", &org.id)
        .details(serde_json::json!({ "authorization": auth.id, "integration": integration.id, "deadline": deadline, "via": via }))
        .record(conn, now)?;
    Ok(true)
}
