//! Organizations and their admins: a ConCat admin creates an organization (and invites its
//! first admin); org admins remove admins, never the last. Invitations of further admins are
//! `crate::invitations`; what organizations grant integrations is `crate::authorizations`.

use crate::context::Context;
use crate::db::models::organizations::Organization;
use crate::db::models::users::User;
use crate::db::{lock_key, new_id, DbConn};
use crate::settings::Settings;

/// A ConCat admin creates an organization (its public id `public_id`) and invites its first
/// admin, who becomes one on accepting.
#[allow(clippy::too_many_arguments)]
pub fn create_organization(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    name: &crate::domain::OrgName,
    admin_name: &crate::domain::DisplayName,
    admin_email: &crate::domain::EmailAddress,
    by: &User,
    pid: &str,
) -> anyhow::Result<Organization> {
    let now = ctx.now;
    use crate::db::models::invitations::Kind;
    use crate::db::models::organizations;
    use crate::invitations::{self, NewInvite, Scope};
    let id = new_id();
    let org = organizations::insert(c, &id, pid, name.as_str(), now)?;
    ctx.audit("organization.created")
        .target("organization", &id)
        .details(serde_json::json!({ "public_id": pid, "name": name.as_str() }))
        .record(c, now)?;
    // The first admin is invited like any other: an admin once they accept.
    let role_label = format!("an administrator of {}", org.name);
    invitations::invite(
        c,
        ctx,
        settings,
        &NewInvite {
            scope: Scope {
                kind: Kind::Organization,
                target_id: Some(&org.id),
            },
            role: None,
            email: admin_email,
            name: admin_name,
            role_label: &role_label,
        },
        by,
    )
    .map_err(|e| match e {
        invitations::InviteError::Other(e) => e,
        // A new organization has no admins and no invitations yet.
        refused => anyhow::anyhow!("inviting the first admin: {refused}"),
    })?;
    Ok(org)
}

#[derive(Debug, thiserror::Error)]
pub enum RemoveAdminError {
    #[error("not an admin of this organization")]
    NotAnAdmin,
    #[error("an organization needs at least one admin")]
    LastAdmin,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// An org admin removes an admin (maybe themselves) of the organization; never its last.
pub fn remove_admin(
    c: &mut DbConn,
    ctx: &Context,
    org: &Organization,
    user_id: &str,
) -> Result<(), RemoveAdminError> {
    use crate::db::models::organizations;
    lock_key(c, &format!("org_admins:{}", org.id))?;
    let current = organizations::admins(c, &org.id)?;
    if !current.iter().any(|a| a.0 == user_id) {
        return Err(RemoveAdminError::NotAnAdmin);
    }
    if current.len() == 1 {
        return Err(RemoveAdminError::LastAdmin);
    }
    organizations::remove_admin(c, &org.id, user_id)?;
    ctx.audit("organization.admin_removed")
        .target("organization", &org.id)
        .details(serde_json::json!({ "user": user_id }))
        .record(c, ctx.now)?;
    Ok(())
}
