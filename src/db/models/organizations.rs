use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::organizations as o;
use crate::db::DbConn;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = o)]
pub struct Organization {
    pub id: String,
    pub public_id: String,
    pub name: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(
    conn: &mut DbConn,
    id: &str,
    public_id: &str,
    name: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(o::table)
        .values((
            o::id.eq(id),
            o::public_id.eq(public_id),
            o::name.eq(name),
            o::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Known organizations whose name contains one of `names` (case-insensitive), for matching the
/// event customers listed in an access request. Bounded: at most 50 rows.
pub fn matching_names(conn: &mut DbConn, names: &[&str]) -> QueryResult<Vec<Organization>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = o::table.into_boxed();
    for (n, name) in names.iter().enumerate() {
        let pattern = format!("%{}%", name.to_lowercase().replace(['%', '_'], ""));
        let cond = super::audit::lower(o::name).like(pattern);
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
