use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::users;
use crate::db::DbConn;

crate::text_enum! {
    /// `users.status`: a suspended user cannot sign in (a ConCat admin suspended them).
    pub enum UserStatus {
        Active = "active",
        Suspended = "suspended",
    }
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub email: String,
    pub email_normalized: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub is_concat_admin: bool,
    pub status: UserStatus,
    pub session_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("is_concat_admin", &self.is_concat_admin)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl User {
    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }

    pub fn is_suspended(&self) -> bool {
        self.status == UserStatus::Suspended
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub email_normalized: &'a str,
    pub display_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub is_concat_admin: bool,
    pub status: UserStatus,
    pub session_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut DbConn, normalized: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email_normalized.eq(normalized))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Inserts the user and returns the row as stored.
pub fn insert(conn: &mut DbConn, new: &NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(super::returning::<User>())
        .get_result(conn)
}

pub fn admin_exists(conn: &mut DbConn) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::is_concat_admin.eq(true)),
    ))
    .get_result(conn)
}

pub fn admin_emails(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    users::table
        .filter(users::is_concat_admin.eq(true))
        .filter(users::status.eq(UserStatus::Active))
        .select((users::email, users::display_name))
        .order(users::email_normalized)
        .load(conn)
}

/// Sets a new password hash, ends every session of the user, and retires their outstanding
/// reset and invitation links.
pub fn set_password(
    conn: &mut DbConn,
    id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    super::tokens::retire_password_links(conn, id, now)?;
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::session_version.eq(users::session_version + 1),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Ends every session of the user (logout everywhere).
pub fn bump_session_version(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::session_version.eq(users::session_version + 1),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Changes the account state; suspension also ends every session.
pub fn set_status(
    conn: &mut DbConn,
    id: &str,
    status: UserStatus,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id).filter(users::status.ne(status)))
        .set((
            users::status.eq(status),
            users::session_version.eq(users::session_version + 1),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn set_display_name(
    conn: &mut DbConn,
    id: &str,
    name: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::display_name.eq(name), users::updated_at.eq(now)))
        .execute(conn)
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// A page of users, optionally filtered by a case-insensitive email/name fragment.
pub fn page(
    conn: &mut DbConn,
    search: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<User>, i64)> {
    let filtered = || {
        let mut q = users::table.into_boxed();
        if let Some(s) = search {
            let pattern = crate::db::contains_pattern(s);
            q = q.filter(users::email_normalized.like(pattern).escape('\\'));
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .select(User::as_select())
        .order(users::email_normalized)
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    Ok((rows, total))
}

/// Makes the user a ConCat admin (an accepted admin invitation).
pub fn make_concat_admin(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::is_concat_admin.eq(true), users::updated_at.eq(now)))
        .execute(conn)
}

/// What a user is besides a ConCat admin: how many developer accounts they belong to and how
/// many organizations they administer (for the navigation and where they land).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Roles {
    pub developer_accounts: i64,
    pub organizations: i64,
}

pub fn roles(conn: &mut DbConn, user_id: &str) -> QueryResult<Roles> {
    use crate::db::schema::{developer_members as m, organization_admins as oa};
    Ok(Roles {
        developer_accounts: m::table
            .filter(m::user_id.eq(user_id))
            .count()
            .get_result(conn)?,
        organizations: oa::table
            .filter(oa::user_id.eq(user_id))
            .count()
            .get_result(conn)?,
    })
}
