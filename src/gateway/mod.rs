//! What the API's gate consults in memory, shared by all workers of one process: the
//! credential cache (`cache`), the cached event pages (`event_pages`), the rate limits
//! (`rate_limit`) and the usage counters written in batches (`usage`). Services call its
//! invalidations after committing a change to what a credential may do; the HTTP side is `api`.

pub mod cache;
pub mod event_pages;
pub mod rate_limit;
pub mod usage;

use std::sync::Arc;

use crate::db::Pool;
use crate::settings::ApiSettings;
use cache::CredentialCache;
use rate_limit::RateLimits;
use usage::UsageRecorder;

/// The API's in-memory state, shared by all workers of one process.
pub struct ApiRuntime {
    pub cache: CredentialCache,
    pub event_pages: event_pages::EventPages,
    pub limits: RateLimits,
    pub usage: UsageRecorder,
    pub(crate) allow_query_key: bool,
}

impl ApiRuntime {
    pub fn new(settings: &ApiSettings) -> Self {
        Self {
            cache: CredentialCache::new(settings.cache_ttl),
            event_pages: event_pages::EventPages::new(settings.cache_ttl),
            limits: RateLimits::new(
                settings.rate_limit_per_minute,
                settings.unauthenticated_per_minute,
            ),
            usage: UsageRecorder::default(),
            allow_query_key: settings.allow_query_key,
        }
    }

    /// Call after committing any change to an integration's secrets, status or authorizations.
    pub fn invalidate_integration(&self, integration_id: &str) {
        self.cache.invalidate_integration(integration_id);
    }

    pub fn invalidate_account(&self, account_id: &str) {
        self.cache.invalidate_account(account_id);
    }

    /// For `db::transaction_then`: after the commit, drop the integration's cached credentials.
    pub fn on_commit_invalidate_integration<T>(
        self: &Arc<Self>,
        integration_id: &str,
    ) -> impl FnOnce(&T) + Send + 'static {
        let (api, id) = (self.clone(), integration_id.to_string());
        move |_| api.invalidate_integration(&id)
    }

    /// For `db::transaction_then`: after the commit, drop the account's cached credentials.
    pub fn on_commit_invalidate_account<T>(
        self: &Arc<Self>,
        account_id: &str,
    ) -> impl FnOnce(&T) + Send + 'static {
        let (api, id) = (self.clone(), account_id.to_string());
        move |_| api.invalidate_account(&id)
    }

    /// For `db::transaction_then`: after the commit, drop the organization's cached event pages.
    pub fn on_commit_invalidate_events<T>(
        self: &Arc<Self>,
        org_id: &str,
    ) -> impl FnOnce(&T) + Send + 'static {
        let (api, id) = (self.clone(), org_id.to_string());
        move |_| api.event_pages.invalidate_org(&id)
    }

    /// One periodic pass: write usage, forget idle cache entries and address buckets.
    pub async fn flush(&self, pool: &Pool) -> anyhow::Result<usage::Flushed> {
        self.cache.evict_idle();
        self.event_pages.evict_expired();
        self.limits.shrink();
        self.usage.flush(pool).await
    }
}
