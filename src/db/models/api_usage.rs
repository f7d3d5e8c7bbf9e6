//! The API usage counters (written by `crate::gateway::usage`): an integration's own requests
//! (`api_usage`, raw detail per day × organization × event × endpoint × status, kept
//! `PORTAL_USAGE_RETENTION_DAYS`) and unverified attempts that only named its API ID
//! (`api_unverified_usage`); and the rollups pages read, written in the same flush: per
//! integration × day × organization (`api_usage_daily`), per day (`api_usage_days`), and per
//! integration over the last 30 days (`api_usage_totals`, recomputed daily by the
//! usage-retention job).

use chrono::NaiveDate;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::schema::api_unverified_usage as v;
use crate::db::schema::api_usage as u;
use crate::db::schema::api_usage_daily as d;
use crate::db::schema::api_usage_days as g;
use crate::db::schema::api_usage_totals as t;
use crate::db::schema::api_usage_window as w;
use crate::db::schema::events;
use crate::db::DbConn;

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
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

// ---- Rollups (`api_usage_daily`, `api_usage_days`, `api_usage_totals`) ----------------------

/// One integration's requests on one day for one organization, by status class.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct Rollup {
    pub requests: i64,
    pub requests_3xx: i64,
    pub requests_4xx: i64,
    pub requests_5xx: i64,
    pub failed_auth: i64,
    pub query_key_requests: i64,
}

impl Rollup {
    /// Adds `n` requests answered with `status`, `query_key` of them with `_apikey`.
    pub fn add(&mut self, status: i32, n: i64, query_key: i64) {
        self.requests += n;
        self.query_key_requests += query_key;
        match status {
            300..=399 => self.requests_3xx += n,
            400..=499 => self.requests_4xx += n,
            500.. => self.requests_5xx += n,
            _ => {}
        }
        if status == 401 {
            self.failed_auth += n;
        }
    }

    pub fn errors(&self) -> i64 {
        self.requests_4xx + self.requests_5xx
    }
}

/// Adds to one row of `api_usage_daily` (created when new).
pub fn add_daily(
    conn: &mut DbConn,
    api_id: &str,
    day: &str,
    org_id: &str,
    r: &Rollup,
) -> QueryResult<usize> {
    use diesel::upsert::excluded;
    crate::upsert!(
        conn,
        d::table,
        (
            d::api_id.eq(api_id),
            d::day.eq(day),
            d::organization_id.eq(org_id),
            d::requests.eq(r.requests),
            d::requests_3xx.eq(r.requests_3xx),
            d::requests_4xx.eq(r.requests_4xx),
            d::requests_5xx.eq(r.requests_5xx),
            d::failed_auth.eq(r.failed_auth),
            d::query_key_requests.eq(r.query_key_requests),
        ),
        (d::api_id, d::day, d::organization_id),
        (
            d::requests.eq(d::requests + excluded(d::requests)),
            d::requests_3xx.eq(d::requests_3xx + excluded(d::requests_3xx)),
            d::requests_4xx.eq(d::requests_4xx + excluded(d::requests_4xx)),
            d::requests_5xx.eq(d::requests_5xx + excluded(d::requests_5xx)),
            d::failed_auth.eq(d::failed_auth + excluded(d::failed_auth)),
            d::query_key_requests.eq(d::query_key_requests + excluded(d::query_key_requests)),
        )
    )
}

/// Adds to one day's row of `api_usage_days`.
pub fn add_day(conn: &mut DbConn, day: &str, r: &Rollup) -> QueryResult<usize> {
    use diesel::upsert::excluded;
    crate::upsert!(
        conn,
        g::table,
        (
            g::day.eq(day),
            g::requests.eq(r.requests),
            g::failed_auth.eq(r.failed_auth),
        ),
        g::day,
        (
            g::requests.eq(g::requests + excluded(g::requests)),
            g::failed_auth.eq(g::failed_auth + excluded(g::failed_auth)),
        )
    )
}

/// Adds to an integration's row of `api_usage_totals`.
pub fn add_totals(conn: &mut DbConn, api_id: &str, r: &Rollup) -> QueryResult<usize> {
    use diesel::upsert::excluded;
    crate::upsert!(
        conn,
        t::table,
        (
            t::api_id.eq(api_id),
            t::requests.eq(r.requests),
            t::errors.eq(r.errors()),
            t::failed_auth.eq(r.failed_auth),
            t::query_key_requests.eq(r.query_key_requests),
        ),
        t::api_id,
        (
            t::requests.eq(t::requests + excluded(t::requests)),
            t::errors.eq(t::errors + excluded(t::errors)),
            t::failed_auth.eq(t::failed_auth + excluded(t::failed_auth)),
            t::query_key_requests.eq(t::query_key_requests + excluded(t::query_key_requests)),
        )
    )
}

/// The days `api_usage_totals` sums, if it has been computed: (from, through), inclusive.
pub fn totals_window(conn: &mut DbConn) -> QueryResult<Option<(NaiveDate, NaiveDate)>> {
    let row = w::table
        .select((w::from_day, w::through_day))
        .first::<(String, String)>(conn)
        .optional()?;
    Ok(row.and_then(|(from, through)| {
        Some((
            NaiveDate::parse_from_str(&from, "%Y-%m-%d").ok()?,
            NaiveDate::parse_from_str(&through, "%Y-%m-%d").ok()?,
        ))
    }))
}

/// Recomputes `api_usage_totals` as the sum of the days `from..=through` (the usage-retention
/// job, once a day). Call inside a transaction.
pub fn refresh_totals(conn: &mut DbConn, from: NaiveDate, through: NaiveDate) -> QueryResult<()> {
    diesel::delete(t::table).execute(conn)?;
    // The days are formatted dates, not input: safe to write into the statement.
    diesel::sql_query(format!(
        "INSERT INTO api_usage_totals (api_id, requests, errors, failed_auth, query_key_requests) \
         SELECT api_id, SUM(requests), SUM(requests_4xx + requests_5xx), SUM(failed_auth), \
         SUM(query_key_requests) FROM api_usage_daily WHERE day >= '{}' AND day <= '{}' GROUP BY api_id",
        day(from),
        day(through)
    ))
    .execute(conn)?;
    diesel::delete(w::table).execute(conn)?;
    diesel::insert_into(w::table)
        .values((
            w::id.eq(1),
            w::from_day.eq(day(from)),
            w::through_day.eq(day(through)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Rebuilds the rollups from the raw counters (after seeding raw rows, or after a rolling
/// upgrade): the daily rows and per-day totals of every day the raw counters still hold (older
/// days, whose raw counters the retention job deleted, keep their rollups), and the
/// per-integration totals are dropped (the next usage-retention run recomputes them).
pub fn rebuild_rollups(conn: &mut DbConn) -> QueryResult<()> {
    let earliest: Option<String> = u::table.select(diesel::dsl::min(u::day)).first(conn)?;
    diesel::delete(t::table).execute(conn)?;
    diesel::delete(w::table).execute(conn)?;
    let Some(earliest) = earliest else {
        return Ok(());
    };
    diesel::delete(d::table.filter(d::day.ge(&earliest))).execute(conn)?;
    diesel::delete(g::table.filter(g::day.ge(&earliest))).execute(conn)?;
    diesel::sql_query(
        "INSERT INTO api_usage_daily (api_id, day, organization_id, requests, requests_3xx, \
         requests_4xx, requests_5xx, failed_auth, query_key_requests) \
         SELECT api_id, day, organization_id, SUM(requests), \
         SUM(CASE WHEN status >= 300 AND status < 400 THEN requests ELSE 0 END), \
         SUM(CASE WHEN status >= 400 AND status < 500 THEN requests ELSE 0 END), \
         SUM(CASE WHEN status >= 500 THEN requests ELSE 0 END), \
         SUM(CASE WHEN status = 401 THEN requests ELSE 0 END), SUM(query_key_requests) \
         FROM api_usage GROUP BY api_id, day, organization_id",
    )
    .execute(conn)?;
    diesel::sql_query(
        "INSERT INTO api_usage_days (day, requests, failed_auth) \
         SELECT day, SUM(requests), SUM(CASE WHEN status = 401 THEN requests ELSE 0 END) \
         FROM api_usage GROUP BY day",
    )
    .execute(conn)?;
    Ok(())
}

/// (day, organization id, rollup) of one integration since `from` (inclusive), oldest first.
pub fn daily_rollups_for(
    conn: &mut DbConn,
    api_id: &str,
    from: NaiveDate,
) -> QueryResult<Vec<(String, String, Rollup)>> {
    d::table
        .filter(d::api_id.eq(api_id))
        .filter(d::day.ge(day(from)))
        .select((d::day, d::organization_id, ROLLUP_COLUMNS))
        .order(d::day.asc())
        .load(conn)
}

/// The columns of `Rollup`, in its order.
const ROLLUP_COLUMNS: (
    d::requests,
    d::requests_3xx,
    d::requests_4xx,
    d::requests_5xx,
    d::failed_auth,
    d::query_key_requests,
) = (
    d::requests,
    d::requests_3xx,
    d::requests_4xx,
    d::requests_5xx,
    d::failed_auth,
    d::query_key_requests,
);

/// Per integration: (API ID, requests, errors, failed authentications, `_apikey` requests).
pub type TotalsRow = (String, i64, i64, i64, i64);

/// Every integration's requests over `from..=today`, from `api_usage_totals` (the sum over
/// the window the usage-retention job last computed, refreshed daily) corrected by the daily
/// rows of the few days where the two differ: minus the window's days before `from`, plus its
/// days after. Without a window that overlaps, summed from the daily rows (correct, slower).
pub fn totals_since(
    conn: &mut DbConn,
    from: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Vec<TotalsRow>> {
    let sum_daily = |conn: &mut DbConn, first: NaiveDate, last: NaiveDate| {
        d::table
            .filter(d::day.ge(day(first)))
            .filter(d::day.le(day(last)))
            .group_by(d::api_id)
            .select((
                d::api_id,
                sql::<BigInt>("CAST(SUM(requests) AS BIGINT)"),
                sql::<BigInt>("CAST(SUM(requests_4xx + requests_5xx) AS BIGINT)"),
                sql::<BigInt>("CAST(SUM(failed_auth) AS BIGINT)"),
                sql::<BigInt>("CAST(SUM(query_key_requests) AS BIGINT)"),
            ))
            .load::<TotalsRow>(conn)
    };
    let window = totals_window(conn)?.filter(|(wf, wt)| {
        // Overlapping, and off by a few days at most (the job runs at least daily).
        *wf <= from && *wt >= from - chrono::Duration::days(1) && *wt <= today && {
            let off = (from - *wf).num_days() + (today - *wt).num_days();
            off <= MAX_DAYS_OFF
        }
    });
    let Some((wf, wt)) = window else {
        return sum_daily(conn, from, today);
    };
    let mut by_id: std::collections::HashMap<String, [i64; 4]> = t::table
        .select((
            t::api_id,
            t::requests,
            t::errors,
            t::failed_auth,
            t::query_key_requests,
        ))
        .load::<TotalsRow>(conn)?
        .into_iter()
        .map(|(id, a, b, c, e)| (id, [a, b, c, e]))
        .collect();
    let mut apply = |rows: Vec<TotalsRow>, sign: i64| {
        for (id, a, b, c, e) in rows {
            let row = by_id.entry(id).or_default();
            for (slot, n) in row.iter_mut().zip([a, b, c, e]) {
                *slot += sign * n;
            }
        }
    };
    if wf < from {
        apply(sum_daily(conn, wf, from - chrono::Duration::days(1))?, -1);
    }
    if wt < today {
        apply(sum_daily(conn, wt + chrono::Duration::days(1), today)?, 1);
    }
    Ok(by_id
        .into_iter()
        .filter(|(_, r)| r.iter().any(|n| *n != 0))
        .map(|(id, [a, b, c, e])| (id, a, b, c, e))
        .collect())
}

/// How many days `totals_since` corrects by hand before it sums the daily rows instead.
const MAX_DAYS_OFF: i64 = 7;

/// Every integration's requests per day since `from`: (day, requests, failed authentications).
pub fn days_since(conn: &mut DbConn, from: NaiveDate) -> QueryResult<Vec<(String, i64, i64)>> {
    g::table
        .filter(g::day.ge(day(from)))
        .select((g::day, g::requests, g::failed_auth))
        .order(g::day.asc())
        .load(conn)
}

/// Moves an organization's daily rollups of one integration (days before `keep_from`, or all)
/// to rows without organization (with `fold_organization`). Call inside a transaction.
pub fn fold_organization_rollups(
    conn: &mut DbConn,
    api_id: &str,
    org_id: &str,
    keep_from: Option<NaiveDate>,
) -> QueryResult<usize> {
    if org_id.is_empty() {
        return Ok(0);
    }
    let of_org = || {
        let mut q = d::table
            .filter(d::api_id.eq(api_id))
            .filter(d::organization_id.eq(org_id))
            .into_boxed();
        if let Some(k) = keep_from {
            q = q.filter(d::day.lt(day(k)));
        }
        q
    };
    let rows: Vec<(String, Rollup)> = of_org().select((d::day, ROLLUP_COLUMNS)).load(conn)?;
    for (day_, r) in &rows {
        add_daily(conn, api_id, day_, "", r)?;
    }
    let mut gone = diesel::delete(d::table)
        .filter(d::api_id.eq(api_id))
        .filter(d::organization_id.eq(org_id))
        .into_boxed();
    if let Some(k) = keep_from {
        gone = gone.filter(d::day.lt(day(k)));
    }
    gone.execute(conn)?;
    Ok(rows.len())
}

/// Days of raw counters older than `before`, oldest first, at most `limit` (for the
/// usage-retention job).
pub fn detail_days_before(
    conn: &mut DbConn,
    before: NaiveDate,
    limit: i64,
) -> QueryResult<Vec<String>> {
    let mut days: Vec<String> = u::table
        .filter(u::day.lt(day(before)))
        .select(u::day)
        .distinct()
        .order(u::day.asc())
        .limit(limit)
        .load(conn)?;
    days.extend(
        v::table
            .filter(v::day.lt(day(before)))
            .select(v::day)
            .distinct()
            .order(v::day.asc())
            .limit(limit)
            .load::<String>(conn)?,
    );
    days.sort();
    days.dedup();
    days.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(days)
}

/// Deletes one day of raw counters (both tables); the rollups keep that day's figures.
pub fn delete_detail_day(conn: &mut DbConn, day_: &str) -> QueryResult<usize> {
    Ok(
        diesel::delete(u::table.filter(u::day.eq(day_))).execute(conn)?
            + diesel::delete(v::table.filter(v::day.eq(day_))).execute(conn)?,
    )
}
