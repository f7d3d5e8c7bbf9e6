//! An integration's life after approval, outside the scheduled jobs: retirement (by an owner or a
//! ConCat admin), reactivation after inactivity (request, then an admin's decision), the
//! inactivity exemption, and an admin's resolution of a deletion duty. Each is one transaction
//! with its audit entry and emails; callers drop cached API credentials after the commit.

use crate::context::Context;
use crate::db::models::authorizations::{self as auths, ConfirmedBy, Via};
use crate::db::models::integrations::{self, Integration, IntegrationStatus};
use crate::db::models::reactivations::{self, ReactivationStatus};
use crate::db::models::{api_secrets, developer_accounts as accounts, organizations, users};
use crate::db::{new_id, DbConn};
use crate::domain::Note;
use crate::email::messages::{
    IntegrationRetired, IntegrationRetiredForOrg, ReactivationAdminNotice, ReactivationDecided,
};
use crate::email::outbox;
use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum RetireError {
    #[error("Type the integration's display name exactly to confirm.")]
    NameMismatch,
    #[error("This integration is already retired.")]
    AlreadyRetired,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for RetireError {
    fn from(e: diesel::result::Error) -> Self {
        RetireError::Other(e.into())
    }
}

/// Retires the integration at once: every secret revoked, every active authorization ended
/// (the usual 30-day duty begins for each; each organization's admins are emailed), a
/// confirmation to the owners. The record stays for the audit log. Returns the ended
/// authorizations' count.
pub fn retire(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    integration: &Integration,
    typed_name: &str,
    by_support: bool,
) -> Result<usize, RetireError> {
    let now = ctx.now;
    let (by, _) = ctx.acting_user()?;
    if typed_name.trim() != integration.display_name {
        return Err(RetireError::NameMismatch);
    }
    integrations::lock(conn, &integration.id)?;
    if !integrations::retire(conn, &integration.id, by, now)? {
        return Err(RetireError::AlreadyRetired);
    }
    // A pending reactivation request has nothing left to decide.
    if let Some(pending) = reactivations::pending_for(conn, &integration.id)? {
        reactivations::decide(
            conn,
            &pending.id,
            ReactivationStatus::Rejected,
            by,
            Some("The integration was retired."),
            now,
        )?;
    }
    let secrets = api_secrets::revoke_all(conn, &integration.id, now)?;
    let company = accounts::find(conn, &integration.account_id)?
        .map(|a| a.company_name)
        .unwrap_or_default();
    let ended = auths::active_of(conn, &integration.id)?;
    let mut org_names = Vec::new();
    for (auth, org) in &ended {
        if !auths::revoke(conn, &auth.id, by, Via::Retirement, now)? {
            continue;
        }
        let deadline = auths::deletion_deadline(now)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string();
        org_names.push(format!("{} ({}), by {deadline}", org.name, org.public_id));
        outbox::enqueue_each(
            organizations::admins(conn, &org.id)?
                .into_iter()
                .map(|(_, email, name, _)| (email, name))
                .collect(),
            conn,
            &format!("retired-org:{}", auth.id),
            now,
            |name| IntegrationRetiredForOrg {
                name,
                org_name: org.name.clone(),
                app_name: integration.display_name.clone(),
                company_name: company.clone(),
                deadline: deadline.clone(),
                link: settings.link(&format!("/org/{}/integrations", org.public_id)),
            },
        )?;
    }
    outbox::enqueue_each(
        accounts::owners(conn, &integration.account_id)?,
        conn,
        &format!("retired:{}", integration.id),
        now,
        |name| IntegrationRetired {
            name,
            app_name: integration.display_name.clone(),
            api_id: integration.api_id.clone(),
            by_support,
            organizations: org_names.clone(),
            link: settings.link(&format!("/developer/integrations/{}", integration.id)),
        },
    )?;
    ctx.audit("integration.retired")
        .target("integration", &integration.id)
        .details(serde_json::json!({
            "api_id": integration.api_id,
            "secrets_revoked": secrets,
            "authorizations_ended": org_names.len(),
            "by_admin": by_support,
        }))
        .record(conn, now)?;
    Ok(org_names.len())
}

#[derive(Debug, thiserror::Error)]
pub enum ReactivationError {
    #[error("Only an integration revoked for inactivity can be reactivated.")]
    NotInactive,
    #[error("A reactivation request for this integration is already waiting for review.")]
    AlreadyPending,
    #[error("That request was already decided.")]
    AlreadyDecided,
    #[error("No such reactivation request.")]
    NotFound,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for ReactivationError {
    fn from(e: diesel::result::Error) -> Self {
        ReactivationError::Other(e.into())
    }
}

/// The developer asks to reactivate an inactive integration; every ConCat admin is emailed.
pub fn request_reactivation(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    integration: &Integration,
    reason: &Note,
) -> Result<(), ReactivationError> {
    let now = ctx.now;
    let (by, by_email) = ctx.acting_user()?;
    let current =
        integrations::lock(conn, &integration.id)?.ok_or(ReactivationError::NotInactive)?;
    if current.status != IntegrationStatus::Inactive {
        return Err(ReactivationError::NotInactive);
    }
    let id = new_id();
    if !reactivations::insert(conn, &id, &integration.id, by, reason.as_str(), now)? {
        return Err(ReactivationError::AlreadyPending);
    }
    let company = accounts::find(conn, &integration.account_id)?
        .map(|a| a.company_name)
        .unwrap_or_default();
    outbox::enqueue_each(
        users::admin_emails(conn)?,
        conn,
        &format!("reactivation-requested:{id}"),
        now,
        |name| ReactivationAdminNotice {
            name,
            company_name: company.clone(),
            app_name: integration.display_name.clone(),
            requester: by_email.to_string(),
            reason: reason.as_str().to_string(),
            link: settings.link("/admin/requests"),
        },
    )?;
    ctx.audit("integration.reactivation_requested")
        .target("integration", &integration.id)
        .details(serde_json::json!({ "request": id, "reason": reason.as_str() }))
        .record(conn, now)?;
    Ok(())
}

/// A ConCat admin approves (the integration is active again; the developer creates a new secret,
/// shown once; old secrets stay revoked; authorizations that organizations revoked stay revoked)
/// or declines. Returns the integration.
pub fn decide_reactivation(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    request_id: &str,
    approve: bool,
    note: Option<&Note>,
) -> Result<Integration, ReactivationError> {
    let now = ctx.now;
    let (by, _) = ctx.acting_user()?;
    let request = reactivations::find(conn, request_id)?.ok_or(ReactivationError::NotFound)?;
    let integration =
        integrations::lock(conn, &request.integration_id)?.ok_or(ReactivationError::NotFound)?;
    let note_str = note.map(Note::as_str);
    if request.status != ReactivationStatus::Pending {
        return Err(ReactivationError::AlreadyDecided);
    }
    if approve && integration.status != IntegrationStatus::Inactive {
        return Err(ReactivationError::NotInactive);
    }
    let status = if approve {
        ReactivationStatus::Approved
    } else {
        ReactivationStatus::Rejected
    };
    if !reactivations::decide(conn, request_id, status, by, note_str, now)? {
        return Err(ReactivationError::AlreadyDecided);
    }
    if approve && !integrations::reactivate(conn, &integration.id, now)? {
        // Retired in a race since the check above: roll the whole decision back.
        return Err(ReactivationError::Other(anyhow::anyhow!(
            "the integration changed while it was being reactivated"
        )));
    }
    outbox::enqueue_each(
        accounts::owners(conn, &integration.account_id)?,
        conn,
        &format!("reactivation-decided:{request_id}"),
        now,
        |name| ReactivationDecided {
            name,
            app_name: integration.display_name.clone(),
            approved: approve,
            note: note_str.unwrap_or_default().to_string(),
            link: settings.link(&format!("/developer/integrations/{}", integration.id)),
        },
    )?;
    let action = if approve {
        "integration.reactivated"
    } else {
        "integration.reactivation_declined"
    };
    ctx.audit(action)
        .target("integration", &integration.id)
        .details(serde_json::json!({ "request": request_id, "note": note_str }))
        .record(conn, now)?;
    Ok(integration)
}

/// Grants or withdraws the inactivity exemption (audited, with the admin's note).
pub fn set_exempt(
    conn: &mut DbConn,
    ctx: &Context,
    integration: &Integration,
    exempt: bool,
    note: &Note,
) -> anyhow::Result<bool> {
    let now = ctx.now;
    if integration.status == IntegrationStatus::Retired
        || !integrations::set_exempt(conn, &integration.id, exempt)?
    {
        return Ok(false);
    }
    let action = if exempt {
        "integration.inactivity_exempted"
    } else {
        "integration.inactivity_exemption_removed"
    };
    ctx.audit(action)
        .target("integration", &integration.id)
        .details(serde_json::json!({ "api_id": integration.api_id, "note": note.as_str() }))
        .record(conn, now)?;
    Ok(true)
}

/// A developer (owner) attests that the data of a revoked authorization's organization is
/// deleted; false when there is no open duty for that authorization of the integration.
pub fn confirm_deletion(
    conn: &mut DbConn,
    ctx: &Context,
    integration_id: &str,
    auth_id: &str,
    org_public_id: &str,
    note: Option<&str>,
) -> anyhow::Result<bool> {
    let (by_user_id, _) = ctx.acting_user()?;
    if !auths::confirm_deletion(
        conn,
        integration_id,
        auth_id,
        by_user_id,
        note,
        ConfirmedBy::Developer,
        ctx.now,
    )? {
        return Ok(false);
    }
    ctx.audit("deletion.confirmed")
        .target("authorization", auth_id)
        .details(serde_json::json!({ "organization": org_public_id, "integration": integration_id, "note": note }))
        .record(conn, ctx.now)?;
    Ok(true)
}

/// A ConCat admin records how an open or overdue deletion duty was resolved (e.g. confirmed by
/// email), with a note. False when the duty is no longer open.
pub fn resolve_duty(
    conn: &mut DbConn,
    ctx: &Context,
    auth_id: &str,
    note: &Note,
) -> anyhow::Result<bool> {
    let now = ctx.now;
    let (by, _) = ctx.acting_user()?;
    let Some((auth, org, integration, _)) = auths::find_duty(conn, auth_id)? else {
        return Ok(false);
    };
    if !auths::confirm_deletion(
        conn,
        &integration.id,
        &auth.id,
        by,
        Some(note.as_str()),
        ConfirmedBy::Admin,
        now,
    )? {
        return Ok(false);
    }
    ctx.audit("deletion.resolved")
        .target("authorization", &auth.id)
        .details(serde_json::json!({
            "organization": org.public_id,
            "integration": integration.id,
            "note": note.as_str(),
            "was_overdue": auth.duty_stage == auths::STAGE_OVERDUE,
        }))
        .record(conn, now)?;
    Ok(true)
}
