//! Resolved API credentials, cached in memory by the secret's SHA-256 digest.
//!
//! A hit costs a hash, a map read and a constant-time comparison; no database. A miss costs one
//! database read (one statement joining secret, integration, account, authorizations and
//! organizations, with the account's status). Only valid credentials are cached. Entries are dropped at once when this
//! process changes an integration's secrets or authorizations (`invalidate_integration`), and are
//! re-read after `ttl`, so changes made by another process apply within `ttl` (≤ 5 s).
//!
//! Races: a load that began before an invalidation must not re-insert what it read. Every
//! invalidation bumps `generation`; a load records the generation before reading and its result
//! is cached only if the generation is unchanged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use subtle::ConstantTimeEq;

use crate::authorizations::{SCOPE_READ, SCOPE_WRITE};
use crate::db::models::authorizations::AuthorizationStatus;
use crate::db::models::developer_accounts::AccountStatus;
use crate::db::models::integrations::IntegrationStatus;
use crate::db::schema::{
    api_secrets as s, authorizations as a, developer_accounts as d, integrations as i,
    organizations as o,
};
use crate::db::DbConn;
use crate::domain::ApiId;

/// What an organization granted this integration, as far as the API cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantState {
    Active {
        authorization_id: Arc<str>,
        scopes: Vec<String>,
        authorized_at: NaiveDateTime,
        /// The organization shares its draft events too.
        include_drafts: bool,
    },
    /// The latest authorization was revoked: the developer must delete the data by `delete_by`.
    Revoked {
        revoked_at: NaiveDateTime,
        delete_by: Option<NaiveDateTime>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub org_id: Arc<str>,
    pub org_public_id: String,
    pub org_name: String,
    pub state: GrantState,
}

impl Grant {
    /// `events:write` includes reading.
    pub fn allows(&self, scope: &str) -> bool {
        match &self.state {
            GrantState::Active { scopes, .. } => scopes
                .iter()
                .any(|s| s == scope || (scope == SCOPE_READ && s == SCOPE_WRITE)),
            GrantState::Revoked { .. } => false,
        }
    }

    /// Whether draft events reach the integration (the organization's choice; an event that
    /// does not reach it is answered as if it did not exist).
    pub fn includes_drafts(&self) -> bool {
        matches!(
            self.state,
            GrantState::Active {
                include_drafts: true,
                ..
            }
        )
    }
}

/// A caller whose credentials check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub integration_id: Arc<str>,
    pub api_id: Arc<str>,
    pub display_name: String,
    pub status: IntegrationStatus,
    pub account_id: Arc<str>,
    pub account_limit: Option<u32>,
    /// A ConCat admin suspended the account: every request is refused (403), though the
    /// credentials are valid (read in the same statement as the rest).
    pub account_suspended: bool,
    pub secret_id: Arc<str>,
    pub secret_expires_at: Option<NaiveDateTime>,
    /// One per organization that ever authorized the integration (its latest authorization).
    pub grants: Vec<Grant>,
}

impl Resolved {
    pub fn grant(&self, org_public_id: &str) -> Option<&Grant> {
        self.grants
            .iter()
            .find(|g| g.org_public_id == org_public_id)
    }

    pub fn grant_by_org_id(&self, org_id: &str) -> Option<&Grant> {
        self.grants.iter().find(|g| &*g.org_id == org_id)
    }

    /// Still usable at `now`: the secret has not passed its roll overlap.
    pub fn usable_at(&self, now: NaiveDateTime) -> bool {
        self.secret_expires_at.is_none_or(|e| e > now)
    }

    fn same_api_id(&self, api_id: &ApiId) -> bool {
        bool::from(self.api_id.as_bytes().ct_eq(api_id.as_str().as_bytes()))
    }
}

type Row = (
    (String, Option<NaiveDateTime>, Option<NaiveDateTime>),
    (String, String, String, IntegrationStatus, String),
    (Option<i32>, AccountStatus),
    Option<(
        String,
        String,
        AuthorizationStatus,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        bool,
    )>,
    Option<(String, String)>,
);

/// Reads what a secret digest resolves to, with one statement; `None` unless the secret is
/// active, its integration is active, and the API ID matches. A suspended account's caller is
/// resolved (`account_suspended`), so the gate can tell it apart from bad credentials.
pub fn load(
    conn: &mut DbConn,
    digest: &str,
    api_id: &ApiId,
    now: NaiveDateTime,
) -> QueryResult<Option<Resolved>> {
    let rows: Vec<Row> = s::table
        .inner_join(i::table.inner_join(d::table))
        .left_join(a::table.on(a::integration_id.eq(i::id)))
        .left_join(o::table.on(o::id.eq(a::organization_id)))
        .filter(s::digest.eq(digest))
        .filter(s::revoked_at.is_null())
        .select((
            (s::id, s::expires_at, s::revoked_at),
            (i::id, i::api_id, i::display_name, i::status, i::account_id),
            (d::api_rate_limit, d::status),
            (
                a::organization_id,
                a::id,
                a::status,
                a::scopes,
                a::authorized_at,
                a::revoked_at,
                a::deletion_due_at,
                a::include_drafts,
            )
                .nullable(),
            (o::public_id, o::name).nullable(),
        ))
        .order(a::authorized_at.desc())
        .load(conn)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let (
        (secret_id, expires_at, _),
        (integration_id, stored_api_id, display_name, status, account_id),
        (limit, account_status),
        _,
        _,
    ) = first.clone();
    let resolved_api_id: Arc<str> = stored_api_id.into();
    let mut resolved = Resolved {
        integration_id: integration_id.into(),
        api_id: resolved_api_id,
        display_name,
        status,
        account_id: account_id.into(),
        account_limit: limit.and_then(|l| u32::try_from(l).ok()).filter(|l| *l > 0),
        account_suspended: account_status == AccountStatus::Suspended,
        secret_id: secret_id.into(),
        secret_expires_at: expires_at,
        grants: Vec::new(),
    };
    if !resolved.same_api_id(api_id) || !resolved.usable_at(now) || !resolved.status.is_active() {
        return Ok(None);
    }
    // Newest first: the first row per organization is its latest authorization, unless an
    // active one exists (there is at most one).
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (_, _, _, auth, org) in rows {
        let (
            Some((org_id, auth_id, auth_status, scopes, authorized_at, revoked_at, due, drafts)),
            Some((public_id, name)),
        ) = (auth, org)
        else {
            continue;
        };
        let state = match auth_status {
            AuthorizationStatus::Active => GrantState::Active {
                scopes: scopes.split_whitespace().map(str::to_string).collect(),
                authorization_id: auth_id.into(),
                authorized_at,
                include_drafts: drafts,
            },
            AuthorizationStatus::Revoked => GrantState::Revoked {
                revoked_at: revoked_at.unwrap_or(authorized_at),
                delete_by: due,
            },
        };
        match seen.get(&org_id) {
            Some(&idx) => {
                if matches!(state, GrantState::Active { .. }) {
                    resolved.grants[idx].state = state;
                }
            }
            None => {
                seen.insert(org_id.clone(), resolved.grants.len());
                resolved.grants.push(Grant {
                    org_id: org_id.into(),
                    org_public_id: public_id,
                    org_name: name,
                    state,
                });
            }
        }
    }
    Ok(Some(resolved))
}

/// Taken before a database read whose result is to be cached: the generation of invalidations
/// at that moment (a load that raced an invalidation is not cached) and the moment itself (an
/// entry's age, and so its TTL, counts from before the read, so a change another process
/// committed during the read shows within the TTL).
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    generation: u64,
    taken: Instant,
}

impl Ticket {
    pub(crate) fn take(counter: &AtomicU64) -> Self {
        Self {
            generation: counter.load(Ordering::SeqCst),
            taken: Instant::now(),
        }
    }

    pub(crate) fn still_current(&self, counter: &AtomicU64) -> bool {
        counter.load(Ordering::SeqCst) == self.generation
    }

    pub(crate) fn taken(&self) -> Instant {
        self.taken
    }
}

struct Entry {
    resolved: Arc<Resolved>,
    loaded: Instant,
    /// Cleared by an invalidation: the next use re-reads (without counting as a new key).
    current: bool,
    /// Set by the one request that starts this entry's refresh (see `Lookup::Refresh`).
    refreshing: AtomicBool,
}

/// What the cache says about presented credentials.
pub enum Lookup {
    /// Valid, and fresh enough to trust.
    Hit(Arc<Resolved>),
    /// Valid and fresh enough to trust, but past half its TTL: use it, and re-read it without
    /// waiting for the read (this caller is the only one told to), so a credential in steady
    /// use never makes a request wait for the database — not even when the database is busy
    /// with other work, like a storm of sign-ins.
    Refresh(Arc<Resolved>),
    /// Known, but older than the TTL (or past its secret's expiry): re-read it.
    Stale,
    /// Not cached.
    Miss,
}

pub struct CredentialCache {
    entries: RwLock<HashMap<String, Entry>>,
    generation: AtomicU64,
    ttl: Duration,
}

impl CredentialCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
            ttl,
        }
    }

    pub fn lookup(&self, digest: &str, api_id: &ApiId, now: NaiveDateTime) -> Lookup {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        match entries.get(digest) {
            None => Lookup::Miss,
            Some(e)
                if !e.current || e.loaded.elapsed() >= self.ttl || !e.resolved.usable_at(now) =>
            {
                Lookup::Stale
            }
            // A wrong API ID with a right secret: not this entry's caller.
            Some(e) if !e.resolved.same_api_id(api_id) => Lookup::Stale,
            Some(e)
                if e.loaded.elapsed() >= self.ttl / 2
                    && !e.refreshing.swap(true, Ordering::AcqRel) =>
            {
                Lookup::Refresh(e.resolved.clone())
            }
            Some(e) => Lookup::Hit(e.resolved.clone()),
        }
    }

    /// Take before loading from the database; pass to `insert`.
    pub fn ticket(&self) -> Ticket {
        Ticket::take(&self.generation)
    }

    /// Caches a freshly loaded caller, unless an invalidation happened since the ticket was
    /// taken. Its age counts from the ticket, i.e. from before the read.
    pub fn insert(&self, ticket: Ticket, digest: String, resolved: Arc<Resolved>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if !ticket.still_current(&self.generation) {
            return;
        }
        entries.insert(
            digest,
            Entry {
                resolved,
                loaded: ticket.taken(),
                current: true,
                refreshing: AtomicBool::new(false),
            },
        );
    }

    /// After a refresh that could not read: the next request past half the TTL tries again.
    pub fn refresh_failed(&self, digest: &str) {
        if let Some(e) = self
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(digest)
        {
            e.refreshing.store(false, Ordering::Release);
        }
    }

    pub fn remove(&self, digest: &str) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(digest);
    }

    /// Marks every cached secret of the integration for re-reading: call after committing a
    /// change to its secrets, status or authorizations. The next request re-reads it (and is
    /// refused if it no longer checks out); it is not a new key for the address limiter.
    pub fn invalidate_integration(&self, integration_id: &str) {
        self.invalidate_where(|r| &*r.integration_id == integration_id);
    }

    /// The same for every integration of the account (e.g. its rate limit changed).
    pub fn invalidate_account(&self, account_id: &str) {
        self.invalidate_where(|r| &*r.account_id == account_id);
    }

    /// Marks every entry stale (announcements may have been missed).
    pub fn clear(&self) {
        self.invalidate_where(|_| true);
    }

    fn invalidate_where(&self, matches: impl Fn(&Resolved) -> bool) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        for e in entries.values_mut() {
            if matches(&e.resolved) {
                e.current = false;
            }
        }
    }

    /// Forgets entries nobody used for a while (they would be re-read anyway).
    pub fn evict_idle(&self) {
        let keep = self.ttl * 4;
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, e| e.loaded.elapsed() < keep);
    }

    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(integration: &str, api_id: &ApiId) -> Arc<Resolved> {
        Arc::new(Resolved {
            integration_id: integration.into(),
            api_id: api_id.as_str().into(),
            display_name: "App".into(),
            status: IntegrationStatus::Active,
            account_id: "acct".into(),
            account_limit: None,
            account_suspended: false,
            secret_id: "s1".into(),
            secret_expires_at: None,
            grants: Vec::new(),
        })
    }

    fn now() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn hits_invalidation_and_the_race_with_a_load() {
        let cache = CredentialCache::new(Duration::from_secs(5));
        let id = ApiId::generate();
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Miss));
        cache.insert(cache.ticket(), "d1".into(), resolved("i1", &id));
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Hit(_)));
        // The right secret with another API ID is not a hit.
        assert!(matches!(
            cache.lookup("d1", &ApiId::generate(), now()),
            Lookup::Stale
        ));

        // A load that started before an invalidation does not re-cache what it read.
        let before = cache.ticket();
        cache.invalidate_integration("i1");
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Stale));
        cache.insert(before, "d1".into(), resolved("i1", &id));
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Stale));
        cache.insert(cache.ticket(), "d1".into(), resolved("i1", &id));
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Hit(_)));

        // Other integrations are untouched; an expired secret is re-read.
        let other = ApiId::generate();
        let mut expiring = (*resolved("i2", &other)).clone();
        expiring.secret_expires_at = Some(now() + chrono::Duration::minutes(1));
        cache.insert(cache.ticket(), "d2".into(), Arc::new(expiring));
        cache.invalidate_integration("i1");
        assert!(matches!(cache.lookup("d2", &other, now()), Lookup::Hit(_)));
        assert!(matches!(
            cache.lookup("d2", &other, now() + chrono::Duration::minutes(2)),
            Lookup::Stale
        ));
        cache.remove("d2");
        assert!(matches!(cache.lookup("d2", &other, now()), Lookup::Miss));
    }

    #[test]
    fn past_half_its_ttl_one_caller_refreshes_and_all_still_hit() {
        let cache = CredentialCache::new(Duration::from_millis(200));
        let id = ApiId::generate();
        cache.insert(cache.ticket(), "d1".into(), resolved("i1", &id));
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Hit(_)));
        std::thread::sleep(Duration::from_millis(110));
        // One caller is told to refresh; the others keep hitting meanwhile.
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Refresh(_)));
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Hit(_)));
        // A refresh that could not read lets the next caller try again.
        cache.refresh_failed("d1");
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Refresh(_)));
        // The refreshed entry is fresh again.
        cache.insert(cache.ticket(), "d1".into(), resolved("i1", &id));
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Hit(_)));
        // Past the TTL without a refresh, it is not trusted at all.
        std::thread::sleep(Duration::from_millis(210));
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Stale));
        // An invalidation is never answered from the entry, refresh or not.
        cache.insert(cache.ticket(), "d1".into(), resolved("i1", &id));
        std::thread::sleep(Duration::from_millis(110));
        cache.invalidate_integration("i1");
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Stale));
    }

    #[test]
    fn an_entry_ages_from_before_its_read() {
        // A read that took longer than the TTL: what it read is already too old to trust.
        let cache = CredentialCache::new(Duration::from_millis(200));
        let id = ApiId::generate();
        let ticket = cache.ticket();
        std::thread::sleep(Duration::from_millis(250));
        cache.insert(ticket, "d1".into(), resolved("i1", &id));
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Stale));
        cache.insert(cache.ticket(), "d1".into(), resolved("i1", &id));
        assert!(matches!(cache.lookup("d1", &id, now()), Lookup::Hit(_)));
    }
}
