//! Metrics for operators, in the Prometheus text format, on a listener of their own
//! (`PORTAL_METRICS_ADDR`, off by default). One `Metrics` per application (its own
//! `prometheus::Registry`, never the crate's global one), so several applications in one
//! process (the tests' clusters) each count their own.
//!
//! Counted as things happen (atomic increments): requests and their latency by route class and
//! status, credential cache lookups, rate-limit refusals, announced changes applied and their
//! lag, listener losses, usage flushes, job runs. Read at each scrape: the outbox's depth and
//! failures (from the database), the change listener's state and the rate-limit mode.
//! docs/OPERATIONS.md lists every metric with the alerts worth setting.

use std::time::Duration;

use actix_web::http::StatusCode;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Request latency buckets, in seconds: the API answers in about a millisecond; pages that
/// hash a password take a few hundred.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Lag of an announced change, in seconds (commit to applied here; the listener polls every
/// 50 ms).
const LAG_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
const JOB_BUCKETS: [f64; 9] = [0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0];

/// Every metric of one application.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// `portal_credential_cache_total` by result, resolved once (on every API request's path).
    cache: [IntCounter; 3],
    refusals: IntCounterVec,
    changes_applied: IntCounter,
    change_lag: Histogram,
    listener_losses: IntCounter,
    listener_state: IntGaugeVec,
    rate_limit_mode: IntGaugeVec,
    usage_flushes: IntCounterVec,
    job_runs: IntCounterVec,
    job_duration: HistogramVec,
    outbox: IntGaugeVec,
    outbox_oldest: IntGauge,
}

/// Where a request went, for the `class` label: a handful of values, whatever the path.
pub fn route_class(path: &str) -> &'static str {
    let first = path
        .trim_start_matches('/')
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    match first {
        "api" => "api",
        "healthz" => "health",
        "static" | "favicon.ico" => "static",
        "admin" => "admin",
        "org" => "org",
        "developer" => "developer",
        "account" | "passkeys" => "account",
        "docs" | "openapi.json" => "docs",
        "" | "login" | "logout" | "setup" | "set-password" | "reset-password"
        | "forgot-password" | "welcome" | "invitations" | "request-access" => "public",
        _ => "other",
    }
}

/// What a credential lookup found, for `portal_credential_cache_total`.
#[derive(Debug, Clone, Copy)]
pub enum CacheResult {
    /// Answered from memory.
    Hit = 0,
    /// Answered from memory, and re-read in the background (past half the TTL).
    Refresh,
    /// Read from the database: never cached, expired, or invalidated.
    Miss,
}

impl CacheResult {
    fn label(self) -> &'static str {
        match self {
            CacheResult::Hit => "hit",
            CacheResult::Refresh => "refresh",
            CacheResult::Miss => "miss",
        }
    }
}

/// The outbox as read at a scrape.
#[derive(Debug, Default, Clone, Copy)]
pub struct OutboxDepth {
    pub queued: i64,
    pub failed: i64,
    /// Age of the oldest message still queued, in seconds (0 when none).
    pub oldest_queued_seconds: i64,
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric");
    r.register(Box::new(c.clone())).expect("registered once");
    c
}

fn counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("a valid metric");
    r.register(Box::new(c.clone())).expect("registered once");
    c
}

fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("a valid metric");
    r.register(Box::new(g.clone())).expect("registered once");
    g
}

fn histogram_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> HistogramVec {
    let h = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .expect("a valid metric");
    r.register(Box::new(h.clone())).expect("registered once");
    h
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new_custom(Some("portal".into()), None).expect("a valid prefix");
        let lag = Histogram::with_opts(
            HistogramOpts::new(
                "change_lag_seconds",
                "Time from announcing a change (in the committing transaction) to applying it here",
            )
            .buckets(LAG_BUCKETS.to_vec()),
        )
        .expect("a valid metric");
        r.register(Box::new(lag.clone())).expect("registered once");
        let oldest = IntGauge::new(
            "outbox_oldest_queued_seconds",
            "Age of the oldest email still queued (0 when none)",
        )
        .expect("a valid metric");
        r.register(Box::new(oldest.clone()))
            .expect("registered once");
        Self {
            requests: counter_vec(
                &r,
                "http_requests_total",
                "Requests answered, by route class and status",
                &["class", "status"],
            ),
            latency: histogram_vec(
                &r,
                "http_request_duration_seconds",
                "Time to answer a request, by route class and status",
                &["class", "status"],
                &LATENCY_BUCKETS,
            ),
            cache: {
                let v = counter_vec(
                    &r,
                    "credential_cache_total",
                    "API credential lookups: hit, refresh (hit, re-read in the background) or miss (read from the database)",
                    &["result"],
                );
                [CacheResult::Hit, CacheResult::Refresh, CacheResult::Miss]
                    .map(|c| v.with_label_values(&[c.label()]))
            },
            refusals: counter_vec(
                &r,
                "rate_limit_refusals_total",
                "Requests refused by a rate limit: the account's or the address's (failed authentication), decided in Redis (shared) or in this process (local)",
                &["limit", "mode"],
            ),
            changes_applied: counter(
                &r,
                "changes_applied_total",
                "Changes announced by any instance (this one included) and applied to this one's caches",
            ),
            change_lag: lag,
            listener_losses: counter(
                &r,
                "change_listener_losses_total",
                "Times the change listener lost its connection (caches cleared; the TTL applies until it is back)",
            ),
            listener_state: gauge_vec(
                &r,
                "change_listener_state",
                "1 for the change listener's current state: off (SQLite), connecting, listening or reconnecting",
                &["state"],
            ),
            rate_limit_mode: gauge_vec(
                &r,
                "rate_limit_mode",
                "1 for how rate limits are decided now: shared (Redis) or local",
                &["mode"],
            ),
            usage_flushes: counter_vec(
                &r,
                "usage_flushes_total",
                "Writes of the API usage counted in memory: ok or failed (kept for the next)",
                &["outcome"],
            ),
            job_runs: counter_vec(
                &r,
                "job_runs_total",
                "Lifecycle job runs started by this instance, by job and outcome (ok, skipped: another instance holds it, failed)",
                &["job", "outcome"],
            ),
            job_duration: histogram_vec(
                &r,
                "job_duration_seconds",
                "Time a lifecycle job run took, by job",
                &["job"],
                &JOB_BUCKETS,
            ),
            outbox: gauge_vec(
                &r,
                "outbox_messages",
                "Emails in the outbox by status: queued (waiting or retrying) or failed (given up)",
                &["status"],
            ),
            outbox_oldest: oldest,
            registry: r,
        }
    }

    /// One request answered.
    pub fn observe_request(&self, class: &str, status: StatusCode, took: Duration) {
        let status = status.as_str();
        self.requests.with_label_values(&[class, status]).inc();
        self.latency
            .with_label_values(&[class, status])
            .observe(took.as_secs_f64());
    }

    pub fn cache_lookup(&self, result: CacheResult) {
        self.cache[result as usize].inc();
    }

    /// A request refused by the account's limit (`account`) or the address's (`address`).
    pub fn refused(&self, limit: &'static str, shared: bool) {
        let mode = if shared { "shared" } else { "local" };
        self.refusals.with_label_values(&[limit, mode]).inc();
    }

    /// A change applied; `lag` when the announcement said when it was made.
    pub fn change_applied(&self, lag: Option<Duration>) {
        self.changes_applied.inc();
        if let Some(lag) = lag {
            self.change_lag.observe(lag.as_secs_f64());
        }
    }

    pub fn listener_lost(&self) {
        self.listener_losses.inc();
    }

    pub fn usage_flushed(&self, ok: bool) {
        self.usage_flushes
            .with_label_values(&[if ok { "ok" } else { "failed" }])
            .inc();
    }

    pub fn job_ran(&self, job: &str, outcome: &str, took: Duration) {
        self.job_runs.with_label_values(&[job, outcome]).inc();
        self.job_duration
            .with_label_values(&[job])
            .observe(took.as_secs_f64());
    }

    /// The text exposition, after setting what is read at scrape time.
    pub fn render(&self, listener: &str, rate_limits: &str, outbox: Option<OutboxDepth>) -> String {
        for state in ["off", "connecting", "listening", "reconnecting"] {
            self.listener_state
                .with_label_values(&[state])
                .set(i64::from(state == listener));
        }
        for mode in ["shared", "local"] {
            self.rate_limit_mode
                .with_label_values(&[mode])
                .set(i64::from(mode == rate_limits));
        }
        if let Some(o) = outbox {
            self.outbox.with_label_values(&["queued"]).set(o.queued);
            self.outbox.with_label_values(&["failed"]).set(o.failed);
            self.outbox_oldest.set(o.oldest_queued_seconds);
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("the text encoder writes to memory");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_few_whatever_the_path() {
        assert_eq!(route_class("/api/v1/me"), "api");
        assert_eq!(route_class("/healthz"), "health");
        assert_eq!(route_class("/admin/users/123"), "admin");
        assert_eq!(route_class("/"), "public");
        assert_eq!(route_class("/login?next=/x"), "public");
        assert_eq!(route_class("/no/such/thing"), "other");
        assert_eq!(route_class("/static/app.css"), "static");
    }

    #[test]
    fn counts_show_in_the_text_format() {
        let m = Metrics::new();
        m.observe_request("api", StatusCode::OK, Duration::from_millis(2));
        m.observe_request(
            "api",
            StatusCode::TOO_MANY_REQUESTS,
            Duration::from_millis(1),
        );
        m.cache_lookup(CacheResult::Hit);
        m.refused("account", true);
        m.change_applied(Some(Duration::from_millis(30)));
        let text = m.render(
            "listening",
            "shared",
            Some(OutboxDepth {
                queued: 3,
                failed: 1,
                oldest_queued_seconds: 12,
            }),
        );
        for line in [
            r#"portal_http_requests_total{class="api",status="200"} 1"#,
            r#"portal_http_requests_total{class="api",status="429"} 1"#,
            r#"portal_http_request_duration_seconds_bucket{class="api",status="200",le="0.0025"} 1"#,
            r#"portal_credential_cache_total{result="hit"} 1"#,
            r#"portal_rate_limit_refusals_total{limit="account",mode="shared"} 1"#,
            r#"portal_change_lag_seconds_bucket{le="0.05"} 1"#,
            r#"portal_change_listener_state{state="listening"} 1"#,
            r#"portal_change_listener_state{state="reconnecting"} 0"#,
            r#"portal_rate_limit_mode{mode="shared"} 1"#,
            r#"portal_outbox_messages{status="queued"} 3"#,
            "portal_outbox_oldest_queued_seconds 12",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
