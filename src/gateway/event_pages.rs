//! Rendered pages of `GET /organizations/{org_id}/events`, cached in memory with the same
//! consistency rules as credentials: this process's own event writes (portal forms, `PATCH
//! /event`) drop the organization's pages at once (`invalidate_org`, after the commit); writes by
//! other processes show within the TTL (≤ 5 s). A page is the JSON body exactly as sent.
//!
//! Bounded: at most `MAX_PAGES` pages; when full, the cache starts over.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use chrono::NaiveDateTime;

use super::cache::Ticket;

const MAX_PAGES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub org_id: Arc<str>,
    pub after: Option<(NaiveDateTime, String)>,
    pub limit: i64,
    /// Pages with drafts (for integrations the organization shares them with) and without.
    pub include_drafts: bool,
}

struct Page {
    body: Bytes,
    loaded: Instant,
}

pub struct EventPages {
    pages: RwLock<HashMap<PageKey, Page>>,
    generation: AtomicU64,
    ttl: Duration,
}

impl EventPages {
    pub fn new(ttl: Duration) -> Self {
        Self {
            pages: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
            ttl,
        }
    }

    pub fn get(&self, key: &PageKey) -> Option<Bytes> {
        let pages = self.pages.read().unwrap_or_else(|e| e.into_inner());
        pages
            .get(key)
            .filter(|p| p.loaded.elapsed() < self.ttl)
            .map(|p| p.body.clone())
    }

    /// Take before loading; pass to `insert`.
    pub fn ticket(&self) -> Ticket {
        Ticket::take(&self.generation)
    }

    /// Caches a page, unless an invalidation happened since the ticket was taken; its age
    /// counts from the ticket.
    pub fn insert(&self, ticket: Ticket, key: PageKey, body: Bytes) {
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        if !ticket.still_current(&self.generation) {
            return;
        }
        if pages.len() >= MAX_PAGES {
            pages.clear();
        }
        pages.insert(
            key,
            Page {
                body,
                loaded: ticket.taken(),
            },
        );
    }

    /// Call after committing any change to the organization's events.
    pub fn invalidate_org(&self, org_id: &str) {
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        pages.retain(|k, _| &*k.org_id != org_id);
    }

    /// Forgets every page (announcements may have been missed).
    pub fn clear(&self) {
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        pages.clear();
    }

    /// Forgets expired pages (called from the periodic flush).
    pub fn evict_expired(&self) {
        let ttl = self.ttl;
        self.pages
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, p| p.loaded.elapsed() < ttl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_expire_are_invalidated_per_org_and_never_recached_from_a_raced_load() {
        let pages = EventPages::new(Duration::from_secs(5));
        let key = |org: &str| PageKey {
            org_id: org.into(),
            after: None,
            limit: 20,
            include_drafts: false,
        };
        pages.insert(pages.ticket(), key("a"), Bytes::from_static(b"A"));
        pages.insert(pages.ticket(), key("b"), Bytes::from_static(b"B"));
        assert_eq!(pages.get(&key("a")).unwrap(), "A");
        let raced = pages.ticket();
        pages.invalidate_org("a");
        assert!(pages.get(&key("a")).is_none());
        assert_eq!(pages.get(&key("b")).unwrap(), "B");
        pages.insert(raced, key("a"), Bytes::from_static(b"old"));
        assert!(pages.get(&key("a")).is_none());
        let short = EventPages::new(Duration::ZERO);
        short.insert(short.ticket(), key("a"), Bytes::from_static(b"A"));
        assert!(short.get(&key("a")).is_none(), "expired");
    }
}
