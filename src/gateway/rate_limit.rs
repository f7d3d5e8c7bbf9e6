//! Rate limits with GCRA (the `governor` crate): one bucket per developer account, shared by all
//! of its integrations, and one per client address for requests that do not authenticate (so
//! guessing credentials costs the guesser). Quotas are per minute with a burst of the whole
//! minute's allowance; they run on the real monotonic clock, not the injectable business clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{NotUntil, Quota, RateLimiter};

type Direct = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;
type Keyed =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

/// What the `X-RateLimit-*` headers (and a 429's body) say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds at which the full allowance is available again.
    pub reset: u64,
    /// On refusal: whole seconds until the next request will be admitted.
    pub retry_after: Option<u64>,
}

/// One account's bucket.
pub struct AccountLimiter {
    pub limit: u32,
    limiter: Direct,
}

impl AccountLimiter {
    fn new(limit: u32) -> Self {
        Self {
            limit,
            limiter: RateLimiter::direct(quota(limit)).with_middleware(),
        }
    }

    pub fn check(&self) -> Result<RateState, RateState> {
        decide(self.limit, self.limiter.check())
    }
}

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).expect("non-zero");
    Quota::per_minute(n).allow_burst(n)
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn interval(limit: u32) -> Duration {
    Duration::from_secs(60) / limit.max(1)
}

fn decide(
    limit: u32,
    outcome: Result<StateSnapshot, NotUntil<<DefaultClock as Clock>::Instant>>,
) -> Result<RateState, RateState> {
    let now = unix_now();
    match outcome {
        Ok(snapshot) => {
            let remaining = snapshot.remaining_burst_capacity().min(limit);
            let until_full = interval(limit) * (limit - remaining);
            Ok(RateState {
                limit,
                remaining,
                reset: (now + until_full).as_secs_f64().ceil() as u64,
                retry_after: None,
            })
        }
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let until_full = wait + interval(limit) * limit.saturating_sub(1);
            Ok::<RateState, RateState>(RateState {
                limit,
                remaining: 0,
                reset: (now + until_full).as_secs_f64().ceil() as u64,
                retry_after: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
            })
            .and_then(Err)
        }
    }
}

/// An account and the limit its bucket enforces.
type AccountKey = (Arc<str>, u32);

pub struct RateLimits {
    default_per_minute: u32,
    unauthenticated_per_minute: u32,
    /// One bucket per account *and* limit: switching limits never hands out a fresh bucket for
    /// the old limit (two processes may briefly disagree on an account's limit).
    accounts: RwLock<HashMap<AccountKey, Arc<AccountLimiter>>>,
    addresses: Keyed,
    /// Per address, for paths that need no credentials (the OpenAPI document, unknown paths):
    /// the same allowance, but a bucket of its own, so fetching them costs no failed-auth
    /// allowance and never blocks an address.
    open: Keyed,
    /// Addresses whose unauthenticated allowance ran out, until when: refused before any lookup.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

/// IPv6 clients are limited per /64 (one subscriber's usual allocation), IPv4 per address.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            IpAddr::from([seg[0], seg[1], seg[2], seg[3], 0, 0, 0, 0])
        }
    }
}

impl RateLimits {
    pub fn new(default_per_minute: u32, unauthenticated_per_minute: u32) -> Self {
        Self {
            default_per_minute,
            unauthenticated_per_minute,
            accounts: RwLock::new(HashMap::new()),
            addresses: RateLimiter::keyed(quota(unauthenticated_per_minute)).with_middleware(),
            open: RateLimiter::keyed(quota(unauthenticated_per_minute)).with_middleware(),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// The account's bucket at its current limit.
    pub fn account(&self, account_id: &Arc<str>, own_limit: Option<u32>) -> Arc<AccountLimiter> {
        let limit = own_limit.unwrap_or(self.default_per_minute);
        let key = (account_id.clone(), limit);
        if let Some(l) = self
            .accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return l.clone();
        }
        self.accounts
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_insert_with(|| Arc::new(AccountLimiter::new(limit)))
            .clone()
    }

    /// While an address is over its unauthenticated allowance: the state to refuse it with.
    /// Does not consume anything.
    pub fn blocked(&self, ip: IpAddr) -> Option<RateState> {
        let key = address_key(ip);
        let until = *self
            .blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)?;
        let wait = until.checked_duration_since(Instant::now())?;
        let now = unix_now();
        Some(RateState {
            limit: self.unauthenticated_per_minute,
            remaining: 0,
            reset: (now
                + wait
                + interval(self.unauthenticated_per_minute)
                    * self.unauthenticated_per_minute.saturating_sub(1))
            .as_secs_f64()
            .ceil() as u64,
            retry_after: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
        })
    }

    /// Charges one unauthenticated request to the client address.
    pub fn unauthenticated(&self, ip: IpAddr) -> Result<RateState, RateState> {
        let decided = decide(
            self.unauthenticated_per_minute,
            self.addresses.check_key(&address_key(ip)),
        );
        self.note(ip, &decided);
        decided
    }

    /// The per-address allowance for requests that fail to authenticate.
    pub fn unauthenticated_limit(&self) -> u32 {
        self.unauthenticated_per_minute
    }

    /// The bucket key of an address (IPv6 per /64).
    pub fn address_bucket(ip: IpAddr) -> String {
        address_key(ip).to_string()
    }

    /// Remembers a refusal of an address's unauthenticated allowance (decided here or by the
    /// shared limits), so its next attempts are refused before the database is asked.
    pub fn note(&self, ip: IpAddr, decided: &Result<RateState, RateState>) {
        if let Err(refused) = decided {
            let wait = Duration::from_secs(refused.retry_after.unwrap_or(1));
            self.blocked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(address_key(ip), Instant::now() + wait);
        }
    }

    /// Charges one request to a path that needs no credentials to the client address.
    pub fn open(&self, ip: IpAddr) -> Result<RateState, RateState> {
        decide(
            self.unauthenticated_per_minute,
            self.open.check_key(&address_key(ip)),
        )
    }

    /// Forgets idle per-address state (called from the periodic flush).
    pub fn shrink(&self) {
        for limiter in [&self.addresses, &self.open] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let now = Instant::now();
        self.blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, until| *until > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_then_refuses_with_retry_after() {
        let limits = RateLimits::new(3, 2);
        let account: Arc<str> = "acct".into();
        let l = limits.account(&account, None);
        let seen: Vec<u32> = (0..3).map(|_| l.check().unwrap().remaining).collect();
        assert_eq!(seen, vec![2, 1, 0]);
        let refused = l.check().unwrap_err();
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.limit, 3);
        let retry = refused.retry_after.unwrap();
        assert!((1..=20).contains(&retry), "{retry}");
        assert!(refused.reset >= unix_now().as_secs() + retry);
        // Another account has its own bucket; a changed limit gets a fresh one.
        let other = limits.account(&"other".into(), None);
        assert_eq!(other.check().unwrap().remaining, 2);
        let raised = limits.account(&account, Some(10));
        assert_eq!(raised.check().unwrap().remaining, 9);
        // Back to the old limit: the old, spent bucket, not a fresh one.
        assert!(limits.account(&account, None).check().is_err());
        // Addresses have their own, smaller allowance.
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limits.unauthenticated(ip).is_ok());
        assert!(limits.unauthenticated(ip).is_ok());
        assert!(limits.blocked(ip).is_none());
        assert!(limits.unauthenticated(ip).is_err());
        assert!(limits.blocked(ip).unwrap().retry_after.unwrap() >= 1);
        assert!(limits.unauthenticated("192.0.2.2".parse().unwrap()).is_ok());
        // One IPv6 /64 shares an allowance.
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert!(limits.unauthenticated(a).is_ok());
        assert!(limits.unauthenticated(b).is_ok());
        assert!(limits.unauthenticated(a).is_err());
        // Paths that need no credentials have their own bucket and never block an address.
        let c: IpAddr = "192.0.2.3".parse().unwrap();
        assert!(limits.open(c).is_ok());
        assert!(limits.open(c).is_ok());
        assert!(limits.open(c).is_err());
        assert!(limits.blocked(c).is_none());
        assert_eq!(limits.unauthenticated(c).unwrap().remaining, 1);
    }
}
