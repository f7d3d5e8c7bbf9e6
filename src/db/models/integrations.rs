use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{developer_members as dm, integrations as i};
use crate::db::DbConn;

pub const ACTIVE: &str = "active";

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = i)]
pub struct Integration {
    pub id: String,
    pub account_id: String,
    pub api_id: String,
    pub display_name: String,
    pub description: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub approved_by_user_id: Option<String>,
    pub last_used_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = i)]
pub struct NewIntegration<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub api_id: &'a str,
    pub display_name: &'a str,
    pub description: &'a str,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
    pub approved_by_user_id: Option<&'a str>,
}

pub fn insert(conn: &mut DbConn, new: &NewIntegration<'_>) -> QueryResult<()> {
    diesel::insert_into(i::table)
        .values(new)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Integration>> {
    i::table
        .find(id)
        .select(Integration::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_api_id(conn: &mut DbConn, api_id: &str) -> QueryResult<Option<Integration>> {
    i::table
        .filter(i::api_id.eq(api_id))
        .select(Integration::as_select())
        .first(conn)
        .optional()
}

/// The integration together with the user's role in its developer account — `None` when the
/// user is not a member of that account. This is the ownership check for every developer route.
pub fn find_for_member(
    conn: &mut DbConn,
    id: &str,
    user_id: &str,
) -> QueryResult<Option<(Integration, String)>> {
    i::table
        .inner_join(dm::table.on(dm::account_id.eq(i::account_id)))
        .filter(i::id.eq(id))
        .filter(dm::user_id.eq(user_id))
        .select((Integration::as_select(), dm::role))
        .first(conn)
        .optional()
}

/// Every integration the user can see (through any developer account), with their role.
pub fn for_member(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<(Integration, String)>> {
    i::table
        .inner_join(dm::table.on(dm::account_id.eq(i::account_id)))
        .filter(dm::user_id.eq(user_id))
        .filter(i::status.ne("retired"))
        .order((i::created_at.asc(), i::id.asc()))
        .select((Integration::as_select(), dm::role))
        .load(conn)
}

/// (API ID, display name) of every integration, for usage overviews.
pub fn names_by_api_id(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    i::table.select((i::api_id, i::display_name)).load(conn)
}
