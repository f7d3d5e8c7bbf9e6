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

/// One page of at most `limit` entries, newest first, from `seek`, and whether more lie beyond
/// it in the direction read. No `OFFSET` and no count: the same cost on every page.
pub fn page(
    conn: &mut DbConn,
    filter: &AuditFilter,
    seek: &crate::db::Seek,
    limit: i64,
) -> QueryResult<(Vec<AuditRow>, bool)> {
    let mut q = a::table.into_boxed();
    if let Some(actor) = &filter.actor {
        q = q.filter(
            lower(a::actor_label)
                .like(crate::db::contains_pattern(actor))
                .escape('\\'),
        );
    }
    if let Some(action) = &filter.action {
        if action.ends_with('.') {
            q = q.filter(
                a::action
                    .like(format!("{}%", crate::db::escape_like(action)))
                    .escape('\\'),
            );
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
    q = match seek {
        crate::db::Seek::Newest => q.order((a::occurred_at.desc(), a::id.desc())),
        crate::db::Seek::Older(at, id) => q
            .filter(
                a::occurred_at
                    .lt(*at)
                    .or(a::occurred_at.eq(*at).and(a::id.lt(id.clone()))),
            )
            .order((a::occurred_at.desc(), a::id.desc())),
        crate::db::Seek::Newer(at, id) => q
            .filter(
                a::occurred_at
                    .gt(*at)
                    .or(a::occurred_at.eq(*at).and(a::id.gt(id.clone()))),
            )
            .order((a::occurred_at.asc(), a::id.asc())),
    };
    let rows: Vec<AuditRow> = q
        .select(AuditRow::as_select())
        .limit(limit + 1)
        .load(conn)?;
    Ok(seek.page(rows, limit))
}

/// Distinct action names, for the filter's drop-down.
///
/// A skip scan on the `action` index: one index probe per distinct action, not a read of every
/// entry (the log grows without bound; the actions are a few dozen).
pub fn actions(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Action {
        #[diesel(sql_type = diesel::sql_types::Text)]
        action: String,
    }
    Ok(diesel::sql_query(
        "WITH RECURSIVE seen(action) AS ( \
           SELECT MIN(action) FROM audit_log \
           UNION ALL \
           SELECT (SELECT MIN(action) FROM audit_log WHERE action > seen.action) \
           FROM seen WHERE seen.action IS NOT NULL) \
         SELECT action FROM seen WHERE action IS NOT NULL ORDER BY action",
    )
    .load::<Action>(conn)?
    .into_iter()
    .map(|a| a.action)
    .collect())
}

pub fn recent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<AuditRow>> {
    a::table
        .select(AuditRow::as_select())
        .order((a::occurred_at.desc(), a::id.desc()))
        .limit(limit)
        .load(conn)
}

/// What an audit entry's target is called now: a label, and the key its page is found by
/// (a user's email, an organization's public id), where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetName {
    pub label: String,
    pub key: Option<String>,
}

/// The names of the targets (and actor users) of `rows`, keyed by (target type, id); one query
/// per kind of target present. A target deleted since is simply absent.
pub fn names_for(
    conn: &mut DbConn,
    rows: &[AuditRow],
) -> QueryResult<std::collections::HashMap<(String, String), TargetName>> {
    use crate::db::schema::{
        access_requests as r, developer_accounts as d, events as e, integrations as i,
        organizations as o, users as u,
    };
    let ids = |kind: &str| -> Vec<String> {
        let mut v: Vec<String> = rows
            .iter()
            .filter(|row| row.target_type.as_deref() == Some(kind))
            .filter_map(|row| row.target_id.clone())
            .collect();
        if kind == "user" {
            v.extend(rows.iter().filter_map(|row| row.actor_user_id.clone()));
        }
        v.sort();
        v.dedup();
        v
    };
    let mut names = std::collections::HashMap::new();
    let mut put = |kind: &str, id: String, label: String, key: Option<String>| {
        names.insert((kind.to_string(), id), TargetName { label, key });
    };
    let users = ids("user");
    if !users.is_empty() {
        for (id, name, email) in u::table
            .filter(u::id.eq_any(&users))
            .select((u::id, u::display_name, u::email))
            .load::<(String, String, String)>(conn)?
        {
            put("user", id, name, Some(email));
        }
    }
    let integrations = ids("integration");
    if !integrations.is_empty() {
        for (id, name, api_id) in i::table
            .filter(i::id.eq_any(&integrations))
            .select((i::id, i::display_name, i::api_id))
            .load::<(String, String, String)>(conn)?
        {
            put("integration", id, name, Some(api_id));
        }
    }
    let orgs = ids("organization");
    if !orgs.is_empty() {
        for (id, name, public_id) in o::table
            .filter(o::id.eq_any(&orgs))
            .select((o::id, o::name, o::public_id))
            .load::<(String, String, String)>(conn)?
        {
            put("organization", id, name, Some(public_id));
        }
    }
    let requests = ids("access_request");
    if !requests.is_empty() {
        for (id, app, company) in r::table
            .filter(r::id.eq_any(&requests))
            .select((r::id, r::app_name, r::company_name))
            .load::<(String, String, String)>(conn)?
        {
            put("access_request", id, format!("{app} ({company})"), None);
        }
    }
    let accounts = ids("developer_account");
    if !accounts.is_empty() {
        for (id, company) in d::table
            .filter(d::id.eq_any(&accounts))
            .select((d::id, d::company_name))
            .load::<(String, String)>(conn)?
        {
            put("developer_account", id, company, None);
        }
    }
    let invitations = ids("invitation");
    if !invitations.is_empty() {
        use crate::db::schema::invitations as inv;
        for (id, email) in inv::table
            .filter(inv::id.eq_any(&invitations))
            .select((inv::id, inv::email))
            .load::<(String, String)>(conn)?
        {
            put("invitation", id, format!("to {email}"), None);
        }
    }
    let events = ids("event");
    if !events.is_empty() {
        for (public_id, name) in e::table
            .filter(e::public_id.eq_any(&events))
            .select((e::public_id, e::name))
            .load::<(String, String)>(conn)?
        {
            put("event", public_id, name, None);
        }
    }
    Ok(names)
}
