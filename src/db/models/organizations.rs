use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{organization_admins as oa, organizations as o, users as u};
use crate::db::DbConn;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = o)]
pub struct Organization {
    pub id: String,
    pub public_id: String,
    pub name: String,
    pub created_at: NaiveDateTime,
}

/// Inserts the organization and returns it as stored.
pub fn insert(
    conn: &mut DbConn,
    id: &str,
    public_id: &str,
    name: &str,
    now: NaiveDateTime,
) -> QueryResult<Organization> {
    diesel::insert_into(o::table)
        .values((
            o::id.eq(id),
            o::public_id.eq(public_id),
            o::name.eq(name),
            o::created_at.eq(now),
        ))
        .returning(super::returning::<Organization>())
        .get_result(conn)
}

/// Known organizations whose name contains one of `names` (case-insensitive), for matching the
/// event customers listed in an access request. Bounded: at most 50 rows.
pub fn matching_names(conn: &mut DbConn, names: &[&str]) -> QueryResult<Vec<Organization>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = o::table.into_boxed();
    for (n, name) in names.iter().enumerate() {
        let pattern = crate::db::contains_pattern(name);
        let cond = super::audit::lower(o::name).like(pattern).escape('\\');
        q = if n == 0 {
            q.filter(cond)
        } else {
            q.or_filter(cond)
        };
    }
    q.order(o::name.asc())
        .limit(50)
        .select(Organization::as_select())
        .load(conn)
}

pub fn find_by_public_id(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<Organization>> {
    o::table
        .filter(o::public_id.eq(public_id))
        .select(Organization::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Organization>> {
    o::table
        .find(id)
        .select(Organization::as_select())
        .first(conn)
        .optional()
}

pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Organization>> {
    o::table
        .order(o::name.asc())
        .select(Organization::as_select())
        .load(conn)
}

/// The organization, when `user_id` administers it — the ownership check of every org route.
pub fn find_for_admin(
    conn: &mut DbConn,
    public_id: &str,
    user_id: &str,
) -> QueryResult<Option<Organization>> {
    o::table
        .inner_join(oa::table)
        .filter(o::public_id.eq(public_id))
        .filter(oa::user_id.eq(user_id))
        .select(Organization::as_select())
        .first(conn)
        .optional()
}

/// The organizations the user administers.
pub fn for_admin(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<Organization>> {
    o::table
        .inner_join(oa::table)
        .filter(oa::user_id.eq(user_id))
        .order(o::name.asc())
        .select(Organization::as_select())
        .load(conn)
}

pub fn add_admin(
    conn: &mut DbConn,
    organization_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let row = (
        oa::organization_id.eq(organization_id),
        oa::user_id.eq(user_id),
        oa::created_at.eq(now),
    );
    let n = crate::insert_or_ignore!(conn, oa::table, row, (oa::organization_id, oa::user_id))?;
    Ok(n == 1)
}

pub fn remove_admin(conn: &mut DbConn, organization_id: &str, user_id: &str) -> QueryResult<bool> {
    let n = diesel::delete(
        oa::table
            .filter(oa::organization_id.eq(organization_id))
            .filter(oa::user_id.eq(user_id)),
    )
    .execute(conn)?;
    Ok(n == 1)
}

/// The organization's admins: (user id, email, display name, has set a password).
pub fn admins(
    conn: &mut DbConn,
    organization_id: &str,
) -> QueryResult<Vec<(String, String, String, bool)>> {
    let rows: Vec<(String, String, String, Option<String>)> = oa::table
        .inner_join(u::table)
        .filter(oa::organization_id.eq(organization_id))
        .order(u::email_normalized.asc())
        .select((u::id, u::email, u::display_name, u::password_hash))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, e, n, h)| (id, e, n, h.is_some()))
        .collect())
}
