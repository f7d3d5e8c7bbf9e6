use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::users::UserStatus;
use crate::db::schema::{developer_accounts as a, developer_members as m, users as u};
use crate::db::DbConn;

crate::text_enum! {
    /// `developer_members.role` (and the role a team invitation offers).
    pub enum MemberRole {
        /// Manages secrets, the team and further integrations.
        Owner = "owner",
        /// Sees the account's integrations.
        Member = "member",
    }
}

impl MemberRole {
    pub fn is_owner(self) -> bool {
        self == MemberRole::Owner
    }
}

crate::text_enum! {
    /// `developer_accounts.status`: API requests and new secrets work only while `active`.
    pub enum AccountStatus {
        Active = "active",
        /// By a ConCat admin.
        Suspended = "suspended",
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = a)]
pub struct DeveloperAccount {
    pub id: String,
    pub company_name: String,
    pub website: String,
    pub created_at: NaiveDateTime,
    /// Requests per minute for all of the account's integrations; `None`: the global default.
    pub api_rate_limit: Option<i32>,
    pub status: AccountStatus,
    /// The latest suspension (kept after reinstatement; the history is in the audit log).
    pub suspended_at: Option<NaiveDateTime>,
    pub suspension_reason: Option<String>,
}

impl DeveloperAccount {
    pub fn is_suspended(&self) -> bool {
        self.status == AccountStatus::Suspended
    }
}

pub fn insert(
    conn: &mut DbConn,
    id: &str,
    company: &str,
    website: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(a::table)
        .values((
            a::id.eq(id),
            a::company_name.eq(company),
            a::website.eq(website),
            a::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Sets (or, with `None`, clears) the account's own API rate limit.
pub fn set_rate_limit(conn: &mut DbConn, id: &str, limit: Option<i32>) -> QueryResult<bool> {
    diesel::update(a::table.find(id))
        .set(a::api_rate_limit.eq(limit))
        .execute(conn)
        .map(|n| n == 1)
}

/// Suspends the account, if it is active (a guarded update: `false` when it already was).
pub fn suspend(conn: &mut DbConn, id: &str, reason: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        a::table
            .find(id)
            .filter(a::status.eq(AccountStatus::Active)),
    )
    .set((
        a::status.eq(AccountStatus::Suspended),
        a::suspended_at.eq(now),
        a::suspension_reason.eq(reason),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Reinstates a suspended account (a guarded update: `false` when it was not suspended).
pub fn reinstate(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    diesel::update(
        a::table
            .find(id)
            .filter(a::status.eq(AccountStatus::Suspended)),
    )
    .set(a::status.eq(AccountStatus::Active))
    .execute(conn)
    .map(|n| n == 1)
}

/// The active accounts of which the user is an owner and no other owner is an active user:
/// suspending the user leaves nobody to run them.
pub fn last_owner_of(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<DeveloperAccount>> {
    let owned: Vec<DeveloperAccount> = a::table
        .inner_join(m::table)
        .filter(m::user_id.eq(user_id))
        .filter(m::role.eq(MemberRole::Owner))
        .filter(a::status.eq(AccountStatus::Active))
        .order((a::company_name.asc(), a::id.asc()))
        .select(DeveloperAccount::as_select())
        .load(conn)?;
    let mut last = Vec::new();
    for account in owned {
        let others: i64 = m::table
            .inner_join(u::table)
            .filter(m::account_id.eq(&account.id))
            .filter(m::role.eq(MemberRole::Owner))
            .filter(m::user_id.ne(user_id))
            .filter(u::status.eq(UserStatus::Active))
            .count()
            .get_result(conn)?;
        if others == 0 {
            last.push(account);
        }
    }
    Ok(last)
}

/// Whether a ConCat admin suspended the account.
pub fn is_suspended(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    a::table
        .find(id)
        .select(a::status)
        .first::<AccountStatus>(conn)
        .optional()
        .map(|s| s == Some(AccountStatus::Suspended))
}

/// Every account, by company name.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<DeveloperAccount>> {
    a::table
        .order((a::company_name.asc(), a::id.asc()))
        .select(DeveloperAccount::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<DeveloperAccount>> {
    a::table
        .find(id)
        .select(DeveloperAccount::as_select())
        .first(conn)
        .optional()
}

/// Adds the user to the account (or changes nothing when they are already a member).
pub fn add_member(
    conn: &mut DbConn,
    account_id: &str,
    user_id: &str,
    role: MemberRole,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let row = (
        m::account_id.eq(account_id),
        m::user_id.eq(user_id),
        m::role.eq(role),
        m::created_at.eq(now),
    );
    let n = crate::insert_or_ignore!(conn, m::table, row, (m::account_id, m::user_id))?;
    Ok(n == 1)
}

/// The user's role in the account, if they are a member.
pub fn role_of(
    conn: &mut DbConn,
    account_id: &str,
    user_id: &str,
) -> QueryResult<Option<MemberRole>> {
    m::table
        .filter(m::account_id.eq(account_id))
        .filter(m::user_id.eq(user_id))
        .select(m::role)
        .first(conn)
        .optional()
}

/// The accounts the user belongs to, with their role.
pub fn for_user(
    conn: &mut DbConn,
    user_id: &str,
) -> QueryResult<Vec<(DeveloperAccount, MemberRole)>> {
    a::table
        .inner_join(m::table)
        .filter(m::user_id.eq(user_id))
        .order(a::company_name.asc())
        .select((DeveloperAccount::as_select(), m::role))
        .load(conn)
}

#[derive(Queryable, Debug, Clone)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub role: MemberRole,
    pub has_password: bool,
}

pub fn members(conn: &mut DbConn, account_id: &str) -> QueryResult<Vec<Member>> {
    let rows: Vec<(String, String, String, MemberRole, Option<String>)> = m::table
        .inner_join(u::table)
        .filter(m::account_id.eq(account_id))
        .order(u::email_normalized.asc())
        .select((u::id, u::email, u::display_name, m::role, u::password_hash))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user_id, email, display_name, role, hash)| Member {
            user_id,
            email,
            display_name,
            role,
            has_password: hash.is_some(),
        })
        .collect())
}

/// Owners' emails and names, for notifications about the account's integrations.
pub fn owners(conn: &mut DbConn, account_id: &str) -> QueryResult<Vec<(String, String)>> {
    m::table
        .inner_join(u::table)
        .filter(m::account_id.eq(account_id))
        .filter(m::role.eq(MemberRole::Owner))
        .filter(u::status.eq(UserStatus::Active))
        .select((u::email, u::display_name))
        .load(conn)
}
