//! Account operations shared by the web handlers and the command line. Invitations live in
//! `crate::invitations`.

use std::sync::Arc;

use chrono::NaiveDateTime;

use super::password::PasswordHasher;
use super::sign_in::{self, CurrentPassword, SignInError};

use crate::audit::{Actor, AuditEvent};
use crate::context::{Context, RequestContext};
use crate::db::models::tokens;
use crate::db::models::users::{self, NewUser, UserStatus};
use crate::db::{new_id, write_tx, DbConn, Pool};
use crate::domain::{DisplayName, EmailAddress, NewPassword, PasswordInput, TokenPurpose};
use crate::email::messages::PasswordChanged;
use crate::email::outbox;
use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("an account with the email {0} already exists")]
    EmailTaken(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Inserts a user. `password_hash` is `None` for invited users who have not set one yet.
/// Fails with `EmailTaken` when the (case-insensitive) email already has an account.
pub fn insert_user(
    conn: &mut DbConn,
    email: &EmailAddress,
    name: &DisplayName,
    password_hash: Option<&str>,
    is_admin: bool,
    now: NaiveDateTime,
) -> Result<users::User, CreateUserError> {
    let normalized = email.normalized();
    if users::find_by_email(conn, &normalized)?.is_some() {
        return Err(CreateUserError::EmailTaken(email.to_string()));
    }
    let id = new_id();
    match users::insert(
        conn,
        &NewUser {
            id: &id,
            email: email.as_str(),
            email_normalized: &normalized,
            display_name: name.as_str(),
            password_hash,
            is_concat_admin: is_admin,
            status: UserStatus::Active,
            session_version: 1,
            created_at: now,
            updated_at: now,
        },
    ) {
        Ok(user) => Ok(user),
        // A concurrent insert of the same email lost the race on the unique index.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(CreateUserError::EmailTaken(email.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// `concat-portal admin create`: a ConCat admin with a password, audited as a system action.
pub fn create_admin_cli(
    conn: &mut DbConn,
    email: &EmailAddress,
    name: &DisplayName,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<users::User, CreateUserError> {
    write_tx(conn, |c| {
        let user = insert_user(c, email, name, Some(password_hash), true, now)?;
        AuditEvent::new("admin.created", Actor::System("command line"))
            .target("user", &user.id)
            .details(serde_json::json!({ "email": user.email, "via": "cli" }))
            .record(c, now)?;
        Ok(user)
    })
}

/// A user renames themselves.
pub fn rename(
    c: &mut DbConn,
    ctx: &Context,
    user: &users::User,
    name: &DisplayName,
) -> anyhow::Result<()> {
    users::set_display_name(c, &user.id, name.as_str(), ctx.now)?;
    ctx.audit("account.name_changed")
        .target("user", &user.id)
        .details(serde_json::json!({ "from": user.display_name, "to": name.as_str() }))
        .record(c, ctx.now)?;
    Ok(())
}

/// A user sets a new password (already hashed, and the current one checked): every session of
/// theirs ends (the session version moves on), and they are told by email. Returns the user as
/// now stored, to start the session that continues.
pub fn change_password(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    user: &users::User,
    hash: &str,
) -> anyhow::Result<Option<users::User>> {
    users::set_password(c, &user.id, hash, ctx.now)?;
    ctx.audit("password.changed")
        .target("user", &user.id)
        .record(c, ctx.now)?;
    let message = PasswordChanged {
        name: user.display_name.clone(),
        when: crate::clock::when(&ctx.now),
        reset_link: settings.link("/forgot-password"),
    };
    let key = format!("password_changed:{}:{}", user.id, crate::db::new_id());
    outbox::enqueue(c, &user.email, &message, &key, ctx.now)?;
    Ok(users::find(c, &user.id)?)
}

/// How a signed-in user's change of their own password ended.
#[derive(Debug)]
pub enum OwnPasswordChange {
    /// Changed: the user as now stored (its new session version), to continue this session.
    Changed(Option<users::User>),
    /// Nothing changed: the current password was wrong or locked, or (when it was correct) no
    /// valid new password was given.
    Refused(CurrentPassword),
}

/// A signed-in user changes their own password: the current one is checked (throttled like
/// signing in), then — only when it is correct and `new` is a valid new password — the new one
/// is hashed on the hashing gate and stored in one transaction with its audit entry and email
/// ([`change_password`]). Every other session of the user ends.
pub async fn change_own_password(
    pool: &Pool,
    passwords: &PasswordHasher,
    settings: &Arc<Settings>,
    rc: &RequestContext,
    user: &users::User,
    current: PasswordInput,
    new: Option<NewPassword>,
) -> Result<OwnPasswordChange, SignInError> {
    let checked = sign_in::check_current_password(pool, passwords, rc, user, current).await?;
    let (CurrentPassword::Correct, Some(new)) = (&checked, new) else {
        return Ok(OwnPasswordChange::Refused(checked));
    };
    let hash = passwords.hash(new).await?;
    let (rc, settings, user) = (rc.clone(), settings.clone(), user.clone());
    let updated = crate::db::transaction(pool, move |c| {
        change_password(c, &rc.ctx(), &settings, &user, &hash)
    })
    .await?;
    Ok(OwnPasswordChange::Changed(updated))
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// An admin exists already, or the setup link is used up.
    #[error("the first-run setup link is no longer valid")]
    LinkUsed,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The first-run setup link (its digest `digest`) creates the first ConCat admin. Every check
/// comes before the first write, so a refusal changes nothing.
pub fn create_first_admin(
    c: &mut DbConn,
    ctx: &Context,
    email: &EmailAddress,
    name: &DisplayName,
    password_hash: &str,
    digest: &str,
) -> Result<users::User, SetupError> {
    let now = ctx.now;
    if users::admin_exists(c)? {
        return Err(SetupError::LinkUsed);
    }
    if users::find_by_email(c, &email.normalized())?.is_some() {
        return Err(SetupError::EmailTaken);
    }
    if !tokens::consume(c, digest, TokenPurpose::Setup, now)? {
        return Err(SetupError::LinkUsed);
    }
    let user =
        insert_user(c, email, name, Some(password_hash), true, now).map_err(|e| match e {
            CreateUserError::EmailTaken(_) => SetupError::EmailTaken,
            CreateUserError::Db(e) => SetupError::Db(e),
            CreateUserError::Other(e) => SetupError::Other(e),
        })?;
    // The setup link signs the new admin in: audited as a sign-in too.
    ctx.audit_as("login.succeeded", Actor::from(&user))
        .target("user", &user.id)
        .details(serde_json::json!({ "via": "first-run setup" }))
        .record(c, now)?;
    ctx.audit_as("admin.created", Actor::from(&user))
        .target("user", &user.id)
        .details(serde_json::json!({ "via": "first-run setup" }))
        .record(c, now)?;
    Ok(user)
}
