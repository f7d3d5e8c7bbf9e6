//! Rate limits shared by every instance (`PORTAL_REDIS_URL`): the same GCRA as the local
//! limiter (`rate_limit`: the minute's allowance as burst, refilled evenly), run by one Lua
//! script in Redis on a key per bucket, with Redis's own clock (`TIME`), so instances with
//! skewed clocks still agree. Three instances together admit at most the limit.
//!
//! When Redis does not answer (within `TIMEOUT`), the instance falls back to its own local
//! limits, says so in `/healthz` (`"rate_limits":"local"`) and the log, and tries Redis again
//! a second later; the first answer puts it back on shared limits (logged too). The
//! `X-RateLimit-*` headers always describe the bucket that decided.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use super::rate_limit::RateState;

/// How long one check may wait for Redis before the local limit decides.
const TIMEOUT: Duration = Duration::from_millis(250);
/// How long after a failure Redis is left alone.
const RETRY: Duration = Duration::from_secs(1);

/// GCRA in whole microseconds (exact in Lua's doubles): KEYS[1] holds the bucket's theoretical
/// arrival time. ARGV[1] = limit per minute; the burst is the whole minute's allowance, as in
/// the local limiter. Returns {allowed (1/0), remaining, ms until the bucket is full again, ms
/// to wait if refused}.
const GCRA: &str = r#"
local limit = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = math.max(1, math.floor(60000000 / limit))
local window = interval * limit
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > window then
  return {0, 0, math.ceil((tat - now) / 1000), math.ceil((new_tat - now - window) / 1000)}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
local remaining = math.floor((window - (new_tat - now)) / interval)
return {1, remaining, math.ceil((new_tat - now) / 1000), 0}
"#;

/// The one probe in flight while local; released when dropped.
struct Probe<'a>(&'a AtomicBool);

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

enum Try<'a> {
    /// Go to Redis (holding the probe, while local).
    Yes(Option<Probe<'a>>),
    No,
}

pub struct SharedLimits {
    client: redis::Client,
    /// Where the connection's driver runs: the main runtime, not one HTTP worker's loop.
    runtime: tokio::runtime::Handle,
    /// While local: the one request that is trying Redis again (the others do not wait).
    probing: AtomicBool,
    prefix: String,
    script: redis::Script,
    conn: Mutex<Option<ConnectionManager>>,
    /// Whether the last check was decided by Redis.
    shared: AtomicBool,
    /// While local: when to try Redis again.
    retry_at: Mutex<Option<Instant>>,
}

impl SharedLimits {
    pub fn new(url: &str, prefix: &str, runtime: tokio::runtime::Handle) -> anyhow::Result<Self> {
        Ok(Self {
            client: redis::Client::open(url)
                .map_err(|e| anyhow::anyhow!("PORTAL_REDIS_URL: {e}"))?,
            runtime,
            probing: AtomicBool::new(false),
            prefix: prefix.to_string(),
            script: redis::Script::new(GCRA),
            conn: Mutex::new(None),
            shared: AtomicBool::new(true),
            retry_at: Mutex::new(None),
        })
    }

    /// `shared` while Redis decides, `local` while it cannot be reached.
    pub fn mode(&self) -> &'static str {
        if self.shared.load(Ordering::SeqCst) {
            "shared"
        } else {
            "local"
        }
    }

    /// Checks and counts one request against `bucket` (`acct:<id>:<limit>`, `addr:<ip>`) with
    /// `limit` per minute. `None` when Redis cannot decide now: the caller's local limit does.
    pub async fn check(&self, bucket: &str, limit: u32) -> Option<Result<RateState, RateState>> {
        let _probe = match self.may_try() {
            Try::Yes(probe) => probe,
            Try::No => return None,
        };
        let outcome = tokio::time::timeout(TIMEOUT, self.eval(bucket, limit)).await;
        self.settle(
            outcome
                .map_err(|_| ())
                .map(|r| r.map_err(|e| e.to_string())),
        )
    }

    /// Whether Redis answers now (`/healthz` asks, so the mode it reports is current even
    /// without API traffic).
    pub async fn probe(&self) -> &'static str {
        if let Try::Yes(_probe) = self.may_try() {
            let ping = async {
                let mut conn = self.connection().await?;
                redis::cmd("PING").query_async::<String>(&mut conn).await
            };
            let outcome = tokio::time::timeout(TIMEOUT, ping).await;
            let _ = self.settle(
                outcome
                    .map_err(|_| ())
                    .map(|r| r.map(|_| ()).map_err(|e| e.to_string())),
            );
        }
        self.mode()
    }

    /// While shared: everyone goes to Redis. While local: only one request at a time, once the
    /// retry time has come (the others keep their local limits and do not wait).
    fn may_try(&self) -> Try<'_> {
        if self.shared.load(Ordering::SeqCst) {
            return Try::Yes(None);
        }
        let due = self
            .retry_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none_or(|at| Instant::now() >= at);
        if due
            && self
                .probing
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            return Try::Yes(Some(Probe(&self.probing)));
        }
        Try::No
    }

    /// Records how a call to Redis went: `Err(())` is a timeout.
    fn settle<T>(&self, outcome: Result<Result<T, String>, ()>) -> Option<T> {
        match outcome {
            Ok(Ok(v)) => {
                if !self.shared.swap(true, Ordering::SeqCst) {
                    tracing::info!("Redis answers again: rate limits are shared by every instance");
                }
                *self.retry_at.lock().unwrap_or_else(|e| e.into_inner()) = None;
                Some(v)
            }
            Ok(Err(e)) => {
                // A broken connection is made anew on the next try.
                *self.conn.lock().unwrap_or_else(|e| e.into_inner()) = None;
                self.fell_back(&e);
                None
            }
            Err(()) => {
                self.fell_back("no answer within 250 ms");
                None
            }
        }
    }

    fn fell_back(&self, why: &str) {
        *self.retry_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + RETRY);
        if self.shared.swap(false, Ordering::SeqCst) {
            tracing::error!(error = %why, "Redis cannot be reached: each instance enforces its own rate limits until it is back");
        }
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let existing = self.conn.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(c) = existing {
            return Ok(c);
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT);
        // Made on the main runtime, where its driver task then lives.
        let client = self.client.clone();
        let c = self
            .runtime
            .spawn(ConnectionManager::new_with_config(client, config))
            .await
            .map_err(|e| redis::RedisError::from(std::io::Error::other(e)))??;
        *self.conn.lock().unwrap_or_else(|e| e.into_inner()) = Some(c.clone());
        Ok(c)
    }

    async fn eval(
        &self,
        bucket: &str,
        limit: u32,
    ) -> redis::RedisResult<Result<RateState, RateState>> {
        let mut conn = self.connection().await?;
        let limit = limit.max(1);
        let (allowed, remaining, until_full_ms, wait_ms): (i64, i64, i64, i64) = self
            .script
            .key(format!("{}rl:{bucket}", self.prefix))
            .arg(limit)
            .invoke_async(&mut conn)
            .await?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let reset = (now + Duration::from_millis(until_full_ms.max(0) as u64))
            .as_secs_f64()
            .ceil() as u64;
        let state = RateState {
            limit,
            remaining: remaining.clamp(0, limit as i64) as u32,
            reset,
            retry_after: (allowed == 0).then(|| ((wait_ms.max(1) as f64) / 1000.0).ceil() as u64),
        };
        Ok(if allowed == 1 { Ok(state) } else { Err(state) })
    }
}
