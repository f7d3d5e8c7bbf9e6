use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::one_time_tokens as t;
use crate::db::DbConn;
use crate::domain::TokenPurpose;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = t)]
pub struct TokenRow {
    pub token_hash: String,
    pub purpose: TokenPurpose,
    pub user_id: Option<String>,
    pub subject_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub used_at: Option<NaiveDateTime>,
}

pub fn insert(
    conn: &mut DbConn,
    token_hash: &str,
    purpose: TokenPurpose,
    user_id: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    insert_for(conn, token_hash, purpose, user_id, None, now)
}

/// A token that acts on one object (`subject_id`: an integration, an access request).
pub fn insert_for(
    conn: &mut DbConn,
    token_hash: &str,
    purpose: TokenPurpose,
    user_id: Option<&str>,
    subject_id: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let expires_at = purpose.lifetime().map(|d| now + d);
    diesel::insert_into(t::table)
        .values((
            t::token_hash.eq(token_hash),
            t::purpose.eq(purpose),
            t::user_id.eq(user_id),
            t::subject_id.eq(subject_id),
            t::created_at.eq(now),
            t::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The token if it exists for this purpose, is unused and has not expired.
pub fn find_valid(
    conn: &mut DbConn,
    token_hash: &str,
    purpose: TokenPurpose,
    now: NaiveDateTime,
) -> QueryResult<Option<TokenRow>> {
    t::table
        .filter(t::token_hash.eq(token_hash))
        .filter(t::purpose.eq(purpose))
        .filter(t::used_at.is_null())
        .filter(t::expires_at.is_null().or(t::expires_at.gt(now)))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()
}

/// The token for this purpose whatever its state (used, expired), so a page can say which.
pub fn find(
    conn: &mut DbConn,
    token_hash: &str,
    purpose: TokenPurpose,
) -> QueryResult<Option<TokenRow>> {
    t::table
        .filter(t::token_hash.eq(token_hash))
        .filter(t::purpose.eq(purpose))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()
}

/// Marks the token used. Returns false when another request used it first (or it expired), so
/// exactly one of two concurrent uses wins.
pub fn consume(
    conn: &mut DbConn,
    token_hash: &str,
    purpose: TokenPurpose,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        t::table
            .filter(t::token_hash.eq(token_hash))
            .filter(t::purpose.eq(purpose))
            .filter(t::used_at.is_null())
            .filter(t::expires_at.is_null().or(t::expires_at.gt(now))),
    )
    .set(t::used_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

/// Retires every unused token of the user for this purpose (e.g. after a password reset).
pub fn retire_for_user(
    conn: &mut DbConn,
    user_id: &str,
    purpose: TokenPurpose,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        t::table
            .filter(t::user_id.eq(user_id))
            .filter(t::purpose.eq(purpose))
            .filter(t::used_at.is_null()),
    )
    .set(t::used_at.eq(now))
    .execute(conn)
}

/// Unused tokens issued to the user for this purpose since `since` (to cap reset emails).
pub fn count_recent(
    conn: &mut DbConn,
    user_id: &str,
    purpose: TokenPurpose,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    t::table
        .filter(t::user_id.eq(user_id))
        .filter(t::purpose.eq(purpose))
        .filter(t::created_at.gt(since))
        .count()
        .get_result(conn)
}

/// Removes unused first-run setup tokens (each start prints a fresh one while no admin exists).
pub fn delete_unused_setup(conn: &mut DbConn) -> QueryResult<usize> {
    diesel::delete(
        t::table
            .filter(t::purpose.eq(TokenPurpose::Setup))
            .filter(t::used_at.is_null()),
    )
    .execute(conn)
}

/// After any password is set: every outstanding reset and invitation link of the user stops
/// working (approval links stay; they ask for the current password).
pub fn retire_password_links(
    conn: &mut DbConn,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    Ok(
        retire_for_user(conn, user_id, TokenPurpose::PasswordReset, now)?
            + retire_for_user(conn, user_id, TokenPurpose::Invitation, now)?,
    )
}
