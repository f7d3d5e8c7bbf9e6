//! Account operations shared by the web handlers and the command line. Invitations live in
//! `crate::invitations`.

use chrono::NaiveDateTime;

use crate::audit::{Actor, AuditEvent};
use crate::db::models::users::{self, NewUser, STATUS_ACTIVE};
use crate::db::{new_id, write_tx, DbConn};
use crate::domain::{DisplayName, EmailAddress};

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
