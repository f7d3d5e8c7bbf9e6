//! The API usage counters (written by `crate::gateway::usage`): an integration's own requests
//! (`api_usage`) and unverified attempts that only named its API ID (`api_unverified_usage`).

use chrono::NaiveDate;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::schema::api_unverified_usage as v;
use crate::db::schema::api_usage as u;
use crate::db::schema::events;
use crate::db::DbConn;

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// (day, organization id, status, requests, of them with `_apikey`).
pub type DailyRow = (String, String, i32, i64, i64);

/// One integration's counters since `from` (inclusive).
pub fn daily_for(conn: &mut DbConn, api_id: &str, from: NaiveDate) -> QueryResult<Vec<DailyRow>> {
    u::table
        .filter(u::api_id.eq(api_id))
        .filter(u::day.ge(day(from)))
        .group_by((u::day, u::organization_id, u::status))
        .select((
            u::day,
            u::organization_id,
            u::status,
            sql::<BigInt>("CAST(SUM(requests) AS BIGINT)"),
            sql::<BigInt>("CAST(SUM(query_key_requests) AS BIGINT)"),
        ))
        .order(u::day.asc())
        .load(conn)
}

/// Every API ID's requests by status since `from` ('' = not recognisable): (API ID, status,
/// requests, of them with `_apikey`).
pub fn by_api_id_since(
    conn: &mut DbConn,
    from: NaiveDate,
) -> QueryResult<Vec<(String, i32, i64, i64)>> {
    u::table
        .filter(u::day.ge(day(from)))
        .group_by((u::api_id, u::status))
        .select((
            u::api_id,
            u::status,
            sql::<BigInt>("CAST(SUM(requests) AS BIGINT)"),
            sql::<BigInt>("CAST(SUM(query_key_requests) AS BIGINT)"),
        ))
        .load(conn)
}

/// Failed authentications (401) per day since `from`.
pub fn failed_auth_by_day(conn: &mut DbConn, from: NaiveDate) -> QueryResult<Vec<(String, i64)>> {
    u::table
        .filter(u::day.ge(day(from)))
        .filter(u::status.eq(401))
        .group_by(u::day)
        .select((u::day, sql::<BigInt>("CAST(SUM(requests) AS BIGINT)")))
        .order(u::day.asc())
        .load(conn)
}

/// Folds the integration's usage rows for one organization (days before `keep_from`, or all)
/// into rows without organization or event, adding to any that exist. Returns how many detailed
/// rows were folded. Call inside a transaction.
pub fn fold_organization(
    conn: &mut DbConn,
    api_id: &str,
    org_id: &str,
    keep_from: Option<NaiveDate>,
) -> QueryResult<usize> {
    use std::collections::BTreeMap;

    if org_id.is_empty() {
        return Ok(0);
    }
    let keep_from = keep_from.map(|d| d.format("%Y-%m-%d").to_string());
    // The organization's rows, and rows of no organization that name one of its events
    // (`/me` and refused requests keep the `EventId` header).
    let of_org = || {
        u::organization_id
            .eq(org_id)
            .or(u::organization_id.eq("").and(
                u::event_id.eq_any(
                    events::table
                        .filter(events::organization_id.eq(org_id))
                        .select(events::public_id),
                ),
            ))
    };
    let mut query = u::table
        .filter(u::api_id.eq(api_id))
        .filter(of_org())
        .select((
            u::day,
            u::endpoint,
            u::status,
            u::requests,
            u::query_key_requests,
        ))
        .into_boxed();
    if let Some(day) = &keep_from {
        query = query.filter(u::day.lt(day.clone()));
    }
    let rows: Vec<(String, String, i32, i64, i64)> = query.load(conn)?;
    let mut totals: BTreeMap<(String, String, i32), (i64, i64)> = BTreeMap::new();
    for (day, endpoint, status, n, query_key) in &rows {
        let total = totals
            .entry((day.clone(), endpoint.clone(), *status))
            .or_default();
        total.0 += n;
        total.1 += query_key;
    }
    for ((day, endpoint, status), (n, query_key)) in &totals {
        add(conn, day, api_id, "", "", endpoint, *status, *n, *query_key)?;
    }
    let target = u::table.filter(u::api_id.eq(api_id)).filter(of_org());
    match &keep_from {
        Some(day) => diesel::delete(target.filter(u::day.lt(day))).execute(conn)?,
        None => diesel::delete(target).execute(conn)?,
    };
    Ok(rows.len())
}

/// Adds `n` requests, `query_key` of them made with `_apikey`, to one counter row (created with
/// them when new). `''` stands for "none".
#[allow(clippy::too_many_arguments)]
pub fn add(
    conn: &mut DbConn,
    day: &str,
    api_id: &str,
    org_id: &str,
    event_id: &str,
    endpoint: &str,
    status: i32,
    n: i64,
    query_key: i64,
) -> QueryResult<usize> {
    crate::upsert!(
        conn,
        u::table,
        (
            u::day.eq(day),
            u::api_id.eq(api_id),
            u::organization_id.eq(org_id),
            u::event_id.eq(event_id),
            u::endpoint.eq(endpoint),
            u::status.eq(status),
            u::requests.eq(n),
            u::query_key_requests.eq(query_key),
        ),
        (
            u::day,
            u::api_id,
            u::organization_id,
            u::event_id,
            u::endpoint,
            u::status
        ),
        (
            u::requests.eq(u::requests + diesel::upsert::excluded(u::requests)),
            u::query_key_requests
                .eq(u::query_key_requests + diesel::upsert::excluded(u::query_key_requests)),
        )
    )
}

/// Adds `n` unverified attempts (`query_key` of them with `_apikey`) that named `api_id`.
pub fn add_unverified(
    conn: &mut DbConn,
    day: &str,
    api_id: &str,
    endpoint: &str,
    status: i32,
    n: i64,
    query_key: i64,
) -> QueryResult<usize> {
    crate::upsert!(
        conn,
        v::table,
        (
            v::day.eq(day),
            v::api_id.eq(api_id),
            v::endpoint.eq(endpoint),
            v::status.eq(status),
            v::requests.eq(n),
            v::query_key_requests.eq(query_key),
        ),
        (v::day, v::api_id, v::endpoint, v::status),
        (
            v::requests.eq(v::requests + diesel::upsert::excluded(v::requests)),
            v::query_key_requests
                .eq(v::query_key_requests + diesel::upsert::excluded(v::query_key_requests)),
        )
    )
}

/// Unverified attempts that named `api_id`, per day since `from`: (day, requests, of them
/// with `_apikey`).
pub fn unverified_daily_for(
    conn: &mut DbConn,
    api_id: &str,
    from: NaiveDate,
) -> QueryResult<Vec<(String, i64, i64)>> {
    v::table
        .filter(v::api_id.eq(api_id))
        .filter(v::day.ge(day(from)))
        .group_by(v::day)
        .select((
            v::day,
            sql::<BigInt>("CAST(SUM(requests) AS BIGINT)"),
            sql::<BigInt>("CAST(SUM(query_key_requests) AS BIGINT)"),
        ))
        .order(v::day.desc())
        .load(conn)
}

/// Unverified attempts per API ID since `from`: (API ID, requests, of them with `_apikey`).
pub fn unverified_by_api_id_since(
    conn: &mut DbConn,
    from: NaiveDate,
) -> QueryResult<Vec<(String, i64, i64)>> {
    v::table
        .filter(v::day.ge(day(from)))
        .group_by(v::api_id)
        .select((
            v::api_id,
            sql::<BigInt>("CAST(SUM(requests) AS BIGINT)"),
            sql::<BigInt>("CAST(SUM(query_key_requests) AS BIGINT)"),
        ))
        .load(conn)
}

/// Unverified attempts refused as failed authentications (401) per day since `from`.
pub fn unverified_failed_auth_by_day(
    conn: &mut DbConn,
    from: NaiveDate,
) -> QueryResult<Vec<(String, i64)>> {
    v::table
        .filter(v::day.ge(day(from)))
        .filter(v::status.eq(401))
        .group_by(v::day)
        .select((v::day, sql::<BigInt>("CAST(SUM(requests) AS BIGINT)")))
        .order(v::day.asc())
        .load(conn)
}
