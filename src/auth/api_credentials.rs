//! Issuing, rolling, revoking and checking API secrets. A secret exists in clear text only in
//! the `ApiSecret` returned here, which the caller shows once; the database keeps its SHA-256
//! digest and a 10-character prefix. Checking a presented secret is the API's job
//! (`crate::gateway::cache::load`).

use chrono::NaiveDateTime;

use crate::context::Context;
use crate::db::models::api_secrets::{self, ApiSecretRow, MAX_ACTIVE};
use crate::db::models::developer_accounts as accounts;
use crate::db::models::integrations::Integration;
use crate::db::{new_id, DbConn};
use crate::domain::ApiSecret;

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("this integration already has {MAX_ACTIVE} active secrets; revoke one first")]
    TooManyActive,
    #[error("this integration is not active")]
    NotActive,
    #[error("the developer account is suspended")]
    AccountSuspended,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// When the old secret stops working after a roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    Now,
    OneHour,
    OneDay,
    SevenDays,
}

impl Overlap {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "now" => Some(Overlap::Now),
            "1h" => Some(Overlap::OneHour),
            "24h" => Some(Overlap::OneDay),
            "7d" => Some(Overlap::SevenDays),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Now => "now",
            Overlap::OneHour => "1h",
            Overlap::OneDay => "24h",
            Overlap::SevenDays => "7d",
        }
    }

    fn duration(self) -> chrono::Duration {
        match self {
            Overlap::Now => chrono::Duration::zero(),
            Overlap::OneHour => chrono::Duration::hours(1),
            Overlap::OneDay => chrono::Duration::hours(24),
            Overlap::SevenDays => chrono::Duration::days(7),
        }
    }
}

/// A new secret for an active integration of an account that is not suspended; refused when
/// two are active already.
pub fn issue(
    conn: &mut DbConn,
    integration: &Integration,
    by: Option<&str>,
    now: NaiveDateTime,
) -> Result<ApiSecret, IssueError> {
    // Count and insert under the integration's lock, so concurrent requests cannot exceed the
    // limit, and re-read its status: it may have been retired or deactivated meanwhile.
    let current = crate::db::models::integrations::lock(conn, &integration.id)?;
    if current.is_none_or(|i| !i.status.is_active()) {
        return Err(IssueError::NotActive);
    }
    if accounts::is_suspended(conn, &integration.account_id)? {
        return Err(IssueError::AccountSuspended);
    }
    if api_secrets::active(conn, &integration.id, now)?.len() >= MAX_ACTIVE {
        return Err(IssueError::TooManyActive);
    }
    let secret = ApiSecret::generate();
    api_secrets::insert(
        conn,
        &new_id(),
        &integration.id,
        &secret.prefix(),
        &secret.digest(),
        by,
        now,
    )?;
    Ok(secret)
}

/// Rolls: a new secret, and every currently active secret stops working after `overlap`.
/// With two secrets already active the roll is refused (one must be revoked first).
pub fn roll(
    conn: &mut DbConn,
    integration: &Integration,
    by: Option<&str>,
    overlap: Overlap,
    now: NaiveDateTime,
) -> Result<(ApiSecret, Vec<ApiSecretRow>), IssueError> {
    let current = crate::db::models::integrations::lock(conn, &integration.id)?;
    if current.is_none_or(|i| !i.status.is_active()) {
        return Err(IssueError::NotActive);
    }
    if accounts::is_suspended(conn, &integration.account_id)? {
        return Err(IssueError::AccountSuspended);
    }
    let old = api_secrets::active(conn, &integration.id, now)?;
    if old.len() >= MAX_ACTIVE {
        return Err(IssueError::TooManyActive);
    }
    for row in &old {
        if overlap == Overlap::Now {
            api_secrets::revoke(conn, &integration.id, &row.id, now)?;
        } else {
            api_secrets::expire_at(conn, &row.id, now + overlap.duration())?;
        }
    }
    let secret = ApiSecret::generate();
    api_secrets::insert(
        conn,
        &new_id(),
        &integration.id,
        &secret.prefix(),
        &secret.digest(),
        by,
        now,
    )?;
    Ok((secret, old))
}

/// An owner (or a ConCat admin) creates another secret for the integration.
pub fn create_secret(
    c: &mut DbConn,
    ctx: &Context,
    integration: &Integration,
) -> Result<ApiSecret, IssueError> {
    let secret = issue(c, integration, ctx.user_id(), ctx.now)?;
    ctx.audit("secret.created")
        .target("integration", &integration.id)
        .details(serde_json::json!({ "prefix": secret.prefix() }))
        .record(c, ctx.now)?;
    Ok(secret)
}

/// A new secret, with the current ones stopping after `overlap`.
pub fn roll_secret(
    c: &mut DbConn,
    ctx: &Context,
    integration: &Integration,
    overlap: Overlap,
) -> Result<ApiSecret, IssueError> {
    let (secret, old) = roll(c, integration, ctx.user_id(), overlap, ctx.now)?;
    ctx.audit("secret.rolled")
        .target("integration", &integration.id)
        .details(serde_json::json!({
            "new_prefix": secret.prefix(),
            "old_prefixes": old.iter().map(|o| o.prefix.clone()).collect::<Vec<_>>(),
            "old_stops": overlap.as_str(),
        }))
        .record(c, ctx.now)?;
    Ok(secret)
}

/// Revokes one secret of the integration at once; `false` when it is not an active secret of
/// that integration.
pub fn revoke_secret(
    c: &mut DbConn,
    ctx: &Context,
    integration_id: &str,
    secret_id: &str,
    prefix: Option<&str>,
) -> anyhow::Result<bool> {
    if !api_secrets::revoke(c, integration_id, secret_id, ctx.now)? {
        return Ok(false);
    }
    ctx.audit("secret.revoked")
        .target("integration", integration_id)
        .details(serde_json::json!({ "secret": secret_id, "prefix": prefix }))
        .record(c, ctx.now)?;
    Ok(true)
}
