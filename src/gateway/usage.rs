//! API usage, aggregated in memory on the hot path and written in batches: request counters per
//! day × API ID × organization × event × endpoint × status, and last-used times per secret,
//! integration and authorization (successful requests only). Only requests whose secret matched
//! count as an integration's (`api_usage`); refused requests that merely name an API ID are
//! unverified attempts, kept apart per day × API ID × endpoint × status
//! (`api_unverified_usage`), since anyone can name any API ID. Made-up API IDs and event ids are
//! folded away when written (`known_api_ids`, `visible_events`). The same transaction adds to the
//! rollups the pages read (`api_usage::add_daily`, `add_day`, `add_totals`). `flush` runs every
//! few seconds and at shutdown; a failed flush puts its counts back, so nothing is lost or counted
//! twice.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::models::api_usage::{self, Rollup};
use crate::db::schema::{api_secrets, authorizations, events, integrations};
use crate::db::{self, DbConn, Pool};

/// Distinct counter keys kept between flushes; beyond it, new keys lose their event id.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsageKey {
    pub day: NaiveDate,
    pub api_id: Option<Arc<str>>,
    /// The secret matched `api_id` (else the request only named it: an unverified attempt).
    pub verified: bool,
    pub org_id: Option<Arc<str>>,
    pub event_id: Option<Arc<str>>,
    pub endpoint: &'static str,
    pub status: u16,
    /// Authenticated with (or sent) the `_apikey` query parameter.
    pub query_key: bool,
}

/// What one successful request touched, for last-used times.
#[derive(Debug, Clone)]
pub struct Used {
    pub secret_id: Arc<str>,
    pub integration_id: Arc<str>,
    pub authorization_id: Option<Arc<str>>,
}

#[derive(Default)]
struct Pending {
    counts: HashMap<UsageKey, u64>,
    secrets: HashMap<Arc<str>, NaiveDateTime>,
    integrations: HashMap<Arc<str>, NaiveDateTime>,
    authorizations: HashMap<Arc<str>, NaiveDateTime>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.counts.is_empty()
            && self.secrets.is_empty()
            && self.integrations.is_empty()
            && self.authorizations.is_empty()
    }

    fn merge(&mut self, other: Pending) {
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
        for (map, from) in [
            (&mut self.secrets, other.secrets),
            (&mut self.integrations, other.integrations),
            (&mut self.authorizations, other.authorizations),
        ] {
            for (id, at) in from {
                latest(map, id, at);
            }
        }
    }
}

fn latest(map: &mut HashMap<Arc<str>, NaiveDateTime>, id: Arc<str>, at: NaiveDateTime) {
    let slot = map.entry(id).or_insert(at);
    if *slot < at {
        *slot = at;
    }
}

#[derive(Default)]
pub struct UsageRecorder {
    pending: Mutex<Pending>,
}

/// What a flush wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    pub counters: usize,
    pub requests: u64,
}

impl UsageRecorder {
    pub fn record(&self, mut key: UsageKey, used: Option<&Used>, now: NaiveDateTime) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if p.counts.len() >= MAX_KEYS && !p.counts.contains_key(&key) {
            key.event_id = None;
        }
        *p.counts.entry(key).or_default() += 1;
        if let Some(used) = used {
            latest(&mut p.secrets, used.secret_id.clone(), now);
            latest(&mut p.integrations, used.integration_id.clone(), now);
            if let Some(a) = &used.authorization_id {
                latest(&mut p.authorizations, a.clone(), now);
            }
        }
    }

    /// Requests counted but not yet written.
    pub fn pending_requests(&self) -> u64 {
        let p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.counts.values().sum()
    }

    /// Writes everything pending in one transaction.
    pub async fn flush(&self, pool: &Pool) -> anyhow::Result<Flushed> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if batch.is_empty() {
            return Ok(Flushed::default());
        }
        let batch = Arc::new(Mutex::new(Some(batch)));
        let work = batch.clone();
        let result = db::transaction(pool, move |c| {
            let guard = work.lock().unwrap_or_else(|e| e.into_inner());
            let p = guard.as_ref().expect("the batch");
            write(c, p)
        })
        .await;
        match result {
            Ok(flushed) => Ok(flushed),
            Err(e) => {
                let back = batch
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .expect("the batch");
                self.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .merge(back);
                Err(e)
            }
        }
    }
}

fn opt(s: &Option<Arc<str>>) -> &str {
    s.as_deref().unwrap_or("")
}

/// Ids per `IN (…)` list when the flush checks the batch's ids against the database.
const IN_LIST_CHUNK: usize = 500;

/// The ids, each once.
fn distinct<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    ids.collect::<HashSet<_>>().into_iter().collect()
}

/// API IDs sent with failed requests may be made up: only those of real integrations are kept
/// (the rest count as "no API ID"), so a caller cannot grow the table or inflate another
/// integration's counts with invented IDs.
fn known_api_ids(c: &mut DbConn, p: &Pending) -> QueryResult<HashSet<String>> {
    let ids = distinct(p.counts.keys().filter_map(|k| k.api_id.as_deref()));
    let mut known = HashSet::new();
    for chunk in ids.chunks(IN_LIST_CHUNK) {
        known.extend(
            integrations::table
                .filter(integrations::api_id.eq_any(chunk))
                .select(integrations::api_id)
                .load::<String>(c)?,
        );
    }
    Ok(known)
}

/// `EventId` headers are kept as sent, on every request, but written only where the event
/// belongs to an organization that has authorized that integration and whose usage detail has
/// not been purged (`jobs::purge`): this returns those (API ID, event) pairs with the event's
/// organization. Any other id (made up, or another tenant's event) counts as "no event", so the
/// table cannot be grown with invented ids, a developer's usage never tells them whether an
/// event they may not see exists, and nothing is kept of an organization after its purge.
fn visible_events(c: &mut DbConn, p: &Pending) -> QueryResult<HashMap<(String, String), String>> {
    let ids = distinct(
        p.counts
            .keys()
            .filter(|k| k.api_id.is_some() && k.verified)
            .filter_map(|k| k.event_id.as_deref()),
    );
    let mut visible = HashMap::new();
    for chunk in ids.chunks(IN_LIST_CHUNK) {
        let rows = events::table
            .inner_join(
                authorizations::table
                    .on(authorizations::organization_id.eq(events::organization_id)),
            )
            .inner_join(integrations::table.on(integrations::id.eq(authorizations::integration_id)))
            .filter(events::public_id.eq_any(chunk))
            .filter(authorizations::usage_purged_at.is_null())
            .select((
                integrations::api_id,
                events::public_id,
                events::organization_id,
            ))
            .distinct()
            .load::<(String, String, String)>(c)?;
        visible.extend(
            rows.into_iter()
                .map(|(api, event, org)| ((api, event), org)),
        );
    }
    Ok(visible)
}

fn write(c: &mut DbConn, p: &Pending) -> anyhow::Result<Flushed> {
    let mut flushed = Flushed::default();
    let known = known_api_ids(c, p)?;
    let visible = visible_events(c, p)?;
    // Per counter row: requests, and how many of them with `_apikey`.
    let mut counts: HashMap<UsageKey, (u64, u64)> = HashMap::new();
    for (k, n) in &p.counts {
        let mut k = k.clone();
        if k.api_id.as_deref().is_some_and(|id| !known.contains(id)) {
            k.api_id = None;
            k.org_id = None;
        }
        if k.api_id.is_none() {
            // Nobody's: one pool of anonymous requests.
            k.verified = true;
        }
        if !k.verified {
            k.org_id = None;
        }
        // Kept only where visible, and never under another organization than the event's
        // (the purge finds an organization's detail by its id, or by its events' ids).
        let keep = match (&k.api_id, &k.event_id) {
            (Some(api), Some(event)) if k.verified => visible
                .get(&(api.to_string(), event.to_string()))
                .is_some_and(|org| k.org_id.as_deref().is_none_or(|o| o == org)),
            _ => false,
        };
        if !keep {
            k.event_id = None;
        }
        let query_key = std::mem::take(&mut k.query_key);
        let row = counts.entry(k).or_default();
        row.0 += n;
        if query_key {
            row.1 += n;
        }
    }
    // The rollups the pages read (`api_usage_daily` and the sums above it), kept with the raw
    // counters in the same transaction.
    let mut daily: HashMap<(&str, String, &str), Rollup> = HashMap::new();
    let mut days: HashMap<String, Rollup> = HashMap::new();
    let mut totals: HashMap<&str, Rollup> = HashMap::new();
    let window = api_usage::totals_window(c)?;
    for (k, (n, query_key)) in &counts {
        let n = i64::try_from(*n).unwrap_or(i64::MAX);
        let query_key = i64::try_from(*query_key).unwrap_or(i64::MAX);
        flushed.counters += 1;
        flushed.requests += n as u64;
        if k.verified {
            let status = i32::from(k.status);
            let day = k.day.format("%Y-%m-%d").to_string();
            daily
                .entry((opt(&k.api_id), day.clone(), opt(&k.org_id)))
                .or_default()
                .add(status, n, query_key);
            days.entry(day).or_default().add(status, n, query_key);
            if window.is_some_and(|(from, through)| (from..=through).contains(&k.day)) {
                totals
                    .entry(opt(&k.api_id))
                    .or_default()
                    .add(status, n, query_key);
            }
        }
        if !k.verified {
            api_usage::add_unverified(
                c,
                &k.day.format("%Y-%m-%d").to_string(),
                opt(&k.api_id),
                k.endpoint,
                i32::from(k.status),
                n,
                query_key,
            )?;
            continue;
        }
        api_usage::add(
            c,
            &k.day.format("%Y-%m-%d").to_string(),
            opt(&k.api_id),
            opt(&k.org_id),
            opt(&k.event_id),
            k.endpoint,
            i32::from(k.status),
            n,
            query_key,
        )?;
    }
    for ((api_id, day, org_id), r) in &daily {
        api_usage::add_daily(c, api_id, day, org_id, r)?;
    }
    for (day, r) in &days {
        api_usage::add_day(c, day, r)?;
    }
    for (api_id, r) in &totals {
        api_usage::add_totals(c, api_id, r)?;
    }
    for (id, at) in &p.secrets {
        diesel::update(
            api_secrets::table.filter(api_secrets::id.eq(&**id)).filter(
                api_secrets::last_used_at
                    .is_null()
                    .or(api_secrets::last_used_at.lt(at)),
            ),
        )
        .set(api_secrets::last_used_at.eq(at))
        .execute(c)?;
    }
    for (id, at) in &p.integrations {
        diesel::update(
            integrations::table
                .filter(integrations::id.eq(&**id))
                .filter(
                    integrations::last_used_at
                        .is_null()
                        .or(integrations::last_used_at.lt(at)),
                ),
        )
        .set(integrations::last_used_at.eq(at))
        .execute(c)?;
        // A successful request restarts the one-year inactivity clock.
        crate::db::models::integrations::record_activity(c, id, *at)?;
    }
    for (id, at) in &p.authorizations {
        diesel::update(
            authorizations::table
                .filter(authorizations::id.eq(&**id))
                .filter(
                    authorizations::last_used_at
                        .is_null()
                        .or(authorizations::last_used_at.lt(at)),
                ),
        )
        .set(authorizations::last_used_at.eq(at))
        .execute(c)?;
    }
    Ok(flushed)
}
