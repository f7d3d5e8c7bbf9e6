//! What the API's gate consults in memory, shared by all workers of one process: the
//! credential cache (`cache`), the cached event pages (`event_pages`), the rate limits
//! (`rate_limit`) and the usage counters written in batches (`usage`). Services call its
//! invalidations after committing a change to what a credential may do; the HTTP side is `api`.

pub mod cache;
pub mod event_pages;
pub mod listener;
pub mod rate_limit;
pub mod shared_limits;
pub mod usage;

use std::sync::Arc;

use crate::db::{self, AfterCommit, DbConn, Pool};
use crate::metrics::Metrics;
use crate::settings::ApiSettings;
use cache::CredentialCache;
use rate_limit::RateLimits;
use usage::UsageRecorder;

/// A committed change to what credentials may do, as announced to every instance
/// (`db::announce`, PostgreSQL `NOTIFY`) and applied to each one's caches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An integration's secrets, status or authorizations.
    Integration(String),
    /// A developer account's status or rate limit.
    Account(String),
    /// An organization's events (the cached event pages).
    Events(String),
}

impl Change {
    /// The `NOTIFY` payload: a letter, a colon, the id.
    pub fn payload(&self) -> String {
        match self {
            Change::Integration(id) => format!("i:{id}"),
            Change::Account(id) => format!("a:{id}"),
            Change::Events(id) => format!("e:{id}"),
        }
    }

    /// A payload as announced: the change, and (from instances that say it) when it was
    /// announced, in microseconds since the Unix epoch (`@` and the number after the id).
    pub fn parse_announced(payload: &str) -> Option<(Self, Option<i64>)> {
        match payload.rsplit_once('@') {
            Some((change, at)) => Some((Self::parse(change)?, at.parse().ok())),
            None => Some((Self::parse(payload)?, None)),
        }
    }

    pub fn parse(payload: &str) -> Option<Self> {
        let (kind, id) = payload.split_once(':')?;
        let id = id.to_string();
        match kind {
            "i" => Some(Change::Integration(id)),
            "a" => Some(Change::Account(id)),
            "e" => Some(Change::Events(id)),
            _ => None,
        }
    }

    /// Announces the change from the current transaction (see `db::announce`), with the time
    /// (wall clock, for the listeners' lag metric: `parse_announced`).
    pub fn announce(&self, conn: &mut DbConn) -> diesel::QueryResult<()> {
        db::announce(
            conn,
            &format!(
                "{}@{}",
                self.payload(),
                unix_micros(std::time::SystemTime::now())
            ),
        )
    }
}

/// Microseconds since the Unix epoch (0 before it).
pub(crate) fn unix_micros(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The changes a transaction's result names.
type ChangesOf<T> = Box<dyn Fn(&T) -> Vec<Change> + Send>;

/// For `db::transaction_then`: announces the changes a transaction's result names from inside
/// it, and applies them to this process's caches after the commit.
pub struct Invalidate<T> {
    api: Arc<ApiRuntime>,
    changes: ChangesOf<T>,
}

impl<T: 'static> AfterCommit<T> for Invalidate<T> {
    fn before_commit(&self, conn: &mut DbConn, out: &T) -> diesel::QueryResult<()> {
        (self.changes)(out)
            .iter()
            .try_for_each(|c| c.announce(conn))
    }

    fn after_commit(self, out: &T) {
        for change in (self.changes)(out) {
            self.api.apply(&change);
        }
    }
}

/// The API's in-memory state, shared by all workers of one process.
pub struct ApiRuntime {
    pub cache: CredentialCache,
    pub event_pages: event_pages::EventPages,
    pub limits: RateLimits,
    /// The same limits in Redis, shared by every instance (`PORTAL_REDIS_URL`).
    pub shared: Option<shared_limits::SharedLimits>,
    pub usage: UsageRecorder,
    /// This application's counters (`PORTAL_METRICS_ADDR` serves them).
    pub metrics: Arc<Metrics>,
    pub(crate) allow_query_key: bool,
}

impl ApiRuntime {
    pub fn new(settings: &ApiSettings) -> anyhow::Result<Self> {
        let shared = match &settings.redis_url {
            Some(url) => Some(shared_limits::SharedLimits::new(
                url.expose(),
                &settings.redis_key_prefix,
                tokio::runtime::Handle::try_current()
                    .map_err(|e| anyhow::anyhow!("shared rate limits need a Tokio runtime: {e}"))?,
            )?),
            None => None,
        };
        Ok(Self {
            shared,
            cache: CredentialCache::new(settings.cache_ttl),
            event_pages: event_pages::EventPages::new(settings.cache_ttl),
            limits: RateLimits::new(
                settings.rate_limit_per_minute,
                settings.unauthenticated_per_minute,
            ),
            usage: UsageRecorder::default(),
            metrics: Arc::new(Metrics::new()),
            allow_query_key: settings.allow_query_key,
        })
    }

    /// Checks and counts one request against the account's limit: in Redis (every instance's
    /// requests together) when configured and answering, else in this process.
    pub async fn check_account(
        &self,
        account_id: &Arc<str>,
        own_limit: Option<u32>,
    ) -> Result<rate_limit::RateState, rate_limit::RateState> {
        let local = self.limits.account(account_id, own_limit);
        if let Some(shared) = &self.shared {
            let bucket = format!("acct:{account_id}:{}", local.limit);
            if let Some(decided) = shared.check(&bucket, local.limit).await {
                if decided.is_err() {
                    self.metrics.refused("account", true);
                }
                return decided;
            }
        }
        let decided = local.check();
        if decided.is_err() {
            self.metrics.refused("account", false);
        }
        decided
    }

    /// Charges a request that failed to authenticate to the client address (shared like
    /// `check_account`).
    pub async fn check_unauthenticated(
        &self,
        ip: std::net::IpAddr,
    ) -> Result<rate_limit::RateState, rate_limit::RateState> {
        if let Some(shared) = &self.shared {
            let bucket = format!("addr:{}", RateLimits::address_bucket(ip));
            if let Some(decided) = shared
                .check(&bucket, self.limits.unauthenticated_limit())
                .await
            {
                self.limits.note(ip, &decided);
                if decided.is_err() {
                    self.metrics.refused("address", true);
                }
                return decided;
            }
        }
        let decided = self.limits.unauthenticated(ip);
        if decided.is_err() {
            self.metrics.refused("address", false);
        }
        decided
    }

    /// `shared` (Redis decides), or `local` (no Redis configured, or it cannot be reached
    /// now: asked, not remembered).
    pub async fn rate_limit_mode(&self) -> &'static str {
        match &self.shared {
            Some(s) => s.probe().await,
            None => "local",
        }
    }

    /// Call after committing any change to an integration's secrets, status or authorizations.
    pub fn invalidate_integration(&self, integration_id: &str) {
        self.cache.invalidate_integration(integration_id);
    }

    pub fn invalidate_account(&self, account_id: &str) {
        self.cache.invalidate_account(account_id);
    }

    /// Applies a change (made here, or announced by another instance) to the caches.
    pub fn apply(&self, change: &Change) {
        match change {
            Change::Integration(id) => self.invalidate_integration(id),
            Change::Account(id) => self.invalidate_account(id),
            Change::Events(org) => self.event_pages.invalidate_org(org),
        }
    }

    /// Forgets every cached credential and event page (when announcements may have been
    /// missed: the listener lost its connection).
    pub fn clear(&self) {
        self.cache.clear();
        self.event_pages.clear();
    }

    /// For `db::transaction_then`: the changes `changes(result)` names, announced from the
    /// transaction and applied here after the commit.
    pub fn invalidate_after<T: 'static>(
        self: &Arc<Self>,
        changes: impl Fn(&T) -> Vec<Change> + Send + 'static,
    ) -> Invalidate<T> {
        Invalidate {
            api: self.clone(),
            changes: Box::new(changes),
        }
    }

    fn invalidate_always<T: 'static>(self: &Arc<Self>, change: Change) -> Invalidate<T> {
        self.invalidate_after(move |_| vec![change.clone()])
    }

    /// For `db::transaction_then`: the integration's cached credentials, everywhere.
    pub fn on_commit_invalidate_integration<T: 'static>(
        self: &Arc<Self>,
        integration_id: &str,
    ) -> Invalidate<T> {
        self.invalidate_always(Change::Integration(integration_id.to_string()))
    }

    /// For `db::transaction_then`: the account's cached credentials, everywhere.
    pub fn on_commit_invalidate_account<T: 'static>(
        self: &Arc<Self>,
        account_id: &str,
    ) -> Invalidate<T> {
        self.invalidate_always(Change::Account(account_id.to_string()))
    }

    /// For `db::transaction_then`: the organization's cached event pages, everywhere.
    pub fn on_commit_invalidate_events<T: 'static>(
        self: &Arc<Self>,
        org_id: &str,
    ) -> Invalidate<T> {
        self.invalidate_always(Change::Events(org_id.to_string()))
    }

    /// One periodic pass: write usage, forget idle cache entries and address buckets.
    pub async fn flush(&self, pool: &Pool) -> anyhow::Result<usage::Flushed> {
        self.cache.evict_idle();
        self.event_pages.evict_expired();
        self.limits.shrink();
        self.usage.flush(pool).await
    }
}
