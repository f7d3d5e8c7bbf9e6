//! Account operations shared by the web handlers and the command line.

use chrono::NaiveDateTime;

use crate::audit::{Actor, AuditEvent};
use crate::db::models::tokens;
use crate::db::models::users::{self, NewUser, STATUS_ACTIVE};
use crate::db::{new_id, write_tx, DbConn};
use crate::domain::{DisplayName, EmailAddress};
use crate::domain::{OneTimeToken, TokenPurpose};
use crate::email::messages::Invitation;
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
    let inserted = users::insert(
        conn,
        &NewUser {
            id: &id,
            email: email.as_str(),
            email_normalized: &normalized,
            display_name: name.as_str(),
            password_hash,
            is_concat_admin: is_admin,
            status: STATUS_ACTIVE,
            session_version: 1,
            created_at: now,
            updated_at: now,
        },
    );
    match inserted {
        Ok(()) => {}
        // A concurrent insert of the same email lost the race on the unique index.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => return Err(CreateUserError::EmailTaken(email.to_string())),
        Err(e) => return Err(e.into()),
    }
    Ok(users::find(conn, &id)?.expect("the user just inserted"))
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

/// Who is invited, as what, by whom.
pub struct Invite<'a> {
    pub email: &'a EmailAddress,
    pub name: &'a DisplayName,
    pub is_admin: bool,
    /// The inviter's display name, for the email.
    pub invited_by: &'a str,
    /// What the invitation is for, e.g. "a ConCat administrator".
    pub role: &'a str,
}

/// Creates a user without a password and queues the invitation email with a single-use
/// set-password link (valid seven days), in the caller's transaction.
pub fn invite_user(
    conn: &mut DbConn,
    settings: &Settings,
    invite: &Invite<'_>,
    now: NaiveDateTime,
) -> Result<users::User, CreateUserError> {
    let user = insert_user(conn, invite.email, invite.name, None, invite.is_admin, now)?;
    let token = OneTimeToken::generate();
    let digest = token.digest();
    tokens::insert(conn, &digest, TokenPurpose::Invitation, Some(&user.id), now)?;
    let message = Invitation {
        name: user.display_name.clone(),
        invited_by: invite.invited_by.to_string(),
        role: invite.role.to_string(),
        link: settings.link(&format!("/set-password/{}", token.expose())),
    };
    outbox::enqueue(
        conn,
        &user.email,
        &message,
        &format!("invitation:{digest}"),
        now,
    )?;
    Ok(user)
}
