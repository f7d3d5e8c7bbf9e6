//! Reading the API usage counters (written by `crate::api::usage`).

use chrono::NaiveDate;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::schema::api_usage as u;
use crate::db::DbConn;

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// One integration's counters since `from` (inclusive): (day, organization id, status, requests).
pub fn daily_for(
    conn: &mut DbConn,
    api_id: &str,
    from: NaiveDate,
) -> QueryResult<Vec<(String, String, i32, i64)>> {
    u::table
        .filter(u::api_id.eq(api_id))
        .filter(u::day.ge(day(from)))
        .group_by((u::day, u::organization_id, u::status))
        .select((
            u::day,
            u::organization_id,
            u::status,
            sql::<BigInt>("CAST(SUM(requests) AS BIGINT)"),
        ))
        .order(u::day.asc())
        .load(conn)
}

/// Every API ID's requests by status since `from` ('' = not recognisable).
pub fn by_api_id_since(conn: &mut DbConn, from: NaiveDate) -> QueryResult<Vec<(String, i32, i64)>> {
    u::table
        .filter(u::day.ge(day(from)))
        .group_by((u::api_id, u::status))
        .select((
            u::api_id,
            u::status,
            sql::<BigInt>("CAST(SUM(requests) AS BIGINT)"),
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
