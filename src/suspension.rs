//! ConCat admins suspending and reinstating developer accounts and users. Each function is one
//! state change, called inside the caller's write transaction: the change, its audit entry and
//! its emails together. A suspended account's integrations are refused by the API (`403
//! Account suspended`, read from the resolved credential) and cannot get new secrets; callers
//! drop the account's cached API credentials after the commit (`ApiRuntime::invalidate_account`).

use chrono::NaiveDateTime;

use crate::context::Context;
use crate::db::models::developer_accounts::{self as accounts, DeveloperAccount, MemberRole};
use crate::db::models::users::{self, UserStatus};
use crate::db::DbConn;
use crate::domain::Note;
use crate::email::messages::{AccountReinstated, AccountSuspended};
use crate::email::outbox;
use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum SuspensionError {
    #[error("No such developer account.")]
    AccountNotFound,
    #[error("No such user.")]
    UserNotFound,
    #[error("This developer account is already suspended.")]
    AlreadySuspended,
    #[error("This developer account is not suspended.")]
    NotSuspended,
    #[error("You cannot suspend your own account.")]
    OwnAccount,
    #[error("This user is not an owner of that developer account.")]
    NotAnOwner,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for SuspensionError {
    fn from(e: diesel::result::Error) -> Self {
        SuspensionError::Other(e.into())
    }
}

/// A dedup key part that makes each suspension (or reinstatement) a new message.
fn occasion(now: NaiveDateTime) -> i64 {
    now.and_utc().timestamp_micros()
}

/// Suspends an active developer account: its integrations' API requests are refused and no
/// secret can be created or rolled until it is reinstated; nothing is revoked. The account's
/// active owners are emailed the reason.
pub fn suspend_account(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    account_id: &str,
    reason: &Note,
) -> Result<DeveloperAccount, SuspensionError> {
    let now = ctx.now;
    let account = accounts::find(conn, account_id)?.ok_or(SuspensionError::AccountNotFound)?;
    if !accounts::suspend(conn, account_id, reason.as_str(), now)? {
        return Err(SuspensionError::AlreadySuspended);
    }
    tell_owners(
        conn,
        ctx,
        &account,
        "developer_account.suspended",
        reason,
        |name| AccountSuspended {
            name,
            company_name: account.company_name.clone(),
            reason: reason.as_str().to_string(),
            link: settings.link("/developer"),
        },
    )?;
    Ok(account)
}

/// Lifts a suspension: the integrations' existing secrets work again at once (in this process;
/// within the API cache's TTL elsewhere). The owners are emailed the admin's note.
pub fn reinstate_account(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    account_id: &str,
    reason: &Note,
) -> Result<DeveloperAccount, SuspensionError> {
    let account = accounts::find(conn, account_id)?.ok_or(SuspensionError::AccountNotFound)?;
    if !accounts::reinstate(conn, account_id)? {
        return Err(SuspensionError::NotSuspended);
    }
    tell_owners(
        conn,
        ctx,
        &account,
        "developer_account.reinstated",
        reason,
        |name| AccountReinstated {
            name,
            company_name: account.company_name.clone(),
            reason: reason.as_str().to_string(),
            link: settings.link("/developer"),
        },
    )?;
    Ok(account)
}

/// The account's active owners get `message` (one email each, keyed by `action`, account and
/// moment) and the change is audited with the reason and how many were told.
fn tell_owners<M: crate::email::EmailMessage>(
    conn: &mut DbConn,
    ctx: &Context,
    account: &DeveloperAccount,
    action: &'static str,
    reason: &Note,
    message: impl Fn(String) -> M,
) -> Result<(), SuspensionError> {
    let now = ctx.now;
    let owners = accounts::owners(conn, &account.id)?;
    let notified = owners.len();
    outbox::enqueue_each(
        owners,
        conn,
        &format!("{action}:{}:{}", account.id, occasion(now)),
        now,
        message,
    )?;
    ctx.audit(action)
        .target("developer_account", &account.id)
        .details(serde_json::json!({
            "company": account.company_name,
            "reason": reason.as_str(),
            "owners_notified": notified,
        }))
        .record(conn, now)?;
    Ok(())
}

/// What suspending a user did.
pub struct UserSuspended {
    pub email: String,
    /// `false` when the user was suspended already.
    pub changed: bool,
    /// The developer accounts suspended with the user (drop their cached API credentials).
    pub accounts: Vec<DeveloperAccount>,
}

/// Suspends a user (every session ends) and, when asked, developer accounts the user owns —
/// meant for accounts of which the user is the last active owner — all in one transaction.
/// The accounts are suspended first, so their owners' emails still reach this user.
pub fn suspend_user(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    user_id: &str,
    also: Option<(&[String], &Note)>,
) -> Result<UserSuspended, SuspensionError> {
    let now = ctx.now;
    if Some(user_id) == ctx.user_id() {
        return Err(SuspensionError::OwnAccount);
    }
    let target = users::find(conn, user_id)?.ok_or(SuspensionError::UserNotFound)?;
    let mut suspended = Vec::new();
    if let Some((ids, reason)) = also {
        // Every account is checked before anything changes: the handler commits a refusal's
        // transaction (to show its message), so a half-done suspension must never be written.
        for id in ids {
            if accounts::role_of(conn, id, user_id)? != Some(MemberRole::Owner) {
                return Err(SuspensionError::NotAnOwner);
            }
        }
        for id in ids {
            match suspend_account(conn, ctx, settings, id, reason) {
                Ok(account) => suspended.push(account),
                // Suspended meanwhile (e.g. a second submission): nothing to do.
                Err(SuspensionError::AlreadySuspended) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let changed = users::set_status(conn, user_id, UserStatus::Suspended, now)? == 1;
    if changed {
        ctx.audit("user.suspended")
            .target("user", user_id)
            .details(serde_json::json!({
                "email": target.email,
                "developer_accounts_suspended": suspended.iter().map(|a| &a.id).collect::<Vec<_>>(),
            }))
            .record(conn, now)?;
    }
    Ok(UserSuspended {
        email: target.email,
        changed,
        accounts: suspended,
    })
}

/// Makes a suspended user active again (their developer accounts stay as they are: a suspended
/// account is reinstated on its own). Returns the email and whether anything changed.
pub fn reactivate_user(
    conn: &mut DbConn,
    ctx: &Context,
    user_id: &str,
) -> Result<(String, bool), SuspensionError> {
    let now = ctx.now;
    let target = users::find(conn, user_id)?.ok_or(SuspensionError::UserNotFound)?;
    let changed = users::set_status(conn, user_id, UserStatus::Active, now)? == 1;
    if changed {
        ctx.audit("user.reactivated")
            .target("user", user_id)
            .details(serde_json::json!({ "email": target.email }))
            .record(conn, now)?;
    }
    Ok((target.email, changed))
}
