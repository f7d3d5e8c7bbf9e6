use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::audit_log as a;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
use crate::db::DbConn;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = a)]
pub struct AuditRow {
    pub id: String,
    pub occurred_at: NaiveDateTime,
    pub actor_user_id: Option<String>,
    pub actor_label: String,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub details: String,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = a)]
pub struct NewAuditRow<'a> {
    pub id: &'a str,
    pub occurred_at: NaiveDateTime,
    pub actor_user_id: Option<&'a str>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub details: &'a str,
    pub client_ip: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

pub fn insert(conn: &mut DbConn, row: &NewAuditRow<'_>) -> QueryResult<()> {
    diesel::insert_into(a::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Case-insensitive fragment of the actor's label (their email at the time).
    pub actor: Option<String>,
    /// Exact action, or a prefix ending in `.` (e.g. `login.`).
    pub action: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

pub fn page(
    conn: &mut DbConn,
    filter: &AuditFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AuditRow>, i64)> {
    let build = || {
        let mut q = a::table.into_boxed();
        if let Some(actor) = &filter.actor {
            let escaped = actor.to_lowercase().replace(['%', '_'], "");
            q = q.filter(lower(a::actor_label).like(format!("%{escaped}%")));
        }
        if let Some(action) = &filter.action {
            if action.ends_with('.') {
                q = q.filter(a::action.like(format!("{}%", action.replace(['%', '_'], ""))));
            } else {
                q = q.filter(a::action.eq(action.clone()));
            }
        }
        if let Some(from) = filter.from {
            q = q.filter(a::occurred_at.ge(from));
        }
        if let Some(until) = filter.until {
            q = q.filter(a::occurred_at.lt(until));
        }
        q
    };
    let total = build().count().get_result(conn)?;
    let rows = build()
        .select(AuditRow::as_select())
        .order((a::occurred_at.desc(), a::id.desc()))
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    Ok((rows, total))
}

/// Distinct action names, for the filter's drop-down.
pub fn actions(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    a::table
        .select(a::action)
        .distinct()
        .order(a::action)
        .load(conn)
}

pub fn recent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<AuditRow>> {
    a::table
        .select(AuditRow::as_select())
        .order((a::occurred_at.desc(), a::id.desc()))
        .limit(limit)
        .load(conn)
}
