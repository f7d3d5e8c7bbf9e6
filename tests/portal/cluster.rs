//! Issue 16.1: several instances on one PostgreSQL database behave as one. A change made
//! through one instance is announced from its transaction (`NOTIFY`) and every other instance
//! drops what it cached, so a revocation is refused everywhere within a second — not when the
//! other caches expire (`PORTAL_API_CACHE_TTL_MS`, 5 s by default). If an instance's listener
//! loses its connection it clears its caches, says so in `/healthz`, logs it, reconnects and
//! hears changes at once again. On SQLite (one process) there is nothing to listen to.

use std::time::{Duration, Instant};

use concat_portal::clock::Clock;
use reqwest::Method;

use crate::support::*;

async fn health_changes(app: &TestApp) -> String {
    let body: serde_json::Value = app.get("/healthz").await.json().await.unwrap();
    body["changes"].as_str().unwrap_or_default().to_string()
}

/// Waits (at most 10 s) until the instance's listener is connected.
pub(crate) async fn listening(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = health_changes(app).await;
        if state == "listening" {
            return;
        }
        assert!(Instant::now() < deadline, "the listener is {state}");
        assert!(state == "connecting" || state == "reconnecting", "{state}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The integration's request for its organization's events, sent to `instance`: its status.
async fn events_status(instance: &TestApp, f: &ApiFixture) -> reqwest::StatusCode {
    bearer(
        &client().0,
        Method::GET,
        instance.url(&format!("/api/v1/organizations/{}/events", f.org)),
        &f.dev.api_id,
        &f.dev.secret,
    )
    .send()
    .await
    .unwrap()
    .status()
}

/// Polls `instance` until the integration's request is refused (403), at most `within`;
/// returns how long it took.
async fn refused_within(instance: &TestApp, f: &ApiFixture, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < within {
        if events_status(instance, f).await == 403 {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    None
}

async fn warm(instance: &TestApp, f: &ApiFixture) {
    assert_eq!(events_status(instance, f).await, 200, "cached as allowed");
}

async fn a_revocation_reaches_every_instance_within_a_second(backend: Backend) {
    let a = spawn_app(backend).await;
    if backend == Backend::Sqlite {
        assert_eq!(
            health_changes(&a).await,
            "off",
            "one process: nothing to hear"
        );
        return;
    }
    let b = spawn_app_on(a.db.clone(), &[], None).await;
    let c = spawn_app_on(a.db.clone(), &[], None).await;
    for i in [&a, &b, &c] {
        listening(i).await;
    }
    let f = a.api_fixture(&["events_read"]).await;
    warm(&b, &f).await;
    warm(&c, &f).await;

    // The organization revokes through A; B and C had it cached for up to 5 s.
    let page = format!("/org/{}/integrations/{}/revoke", f.org, f.auth_id);
    assert_eq!(a.post_form_with(&f.olga, &page, &[]).await.status(), 303);
    a.one_email_to("dana@ticketly.example").await;
    let on_b = refused_within(&b, &f, Duration::from_secs(1)).await;
    let on_c = refused_within(&c, &f, Duration::from_secs(1)).await;
    assert!(on_b.is_some() && on_c.is_some(), "B {on_b:?}, C {on_c:?}");
}

async fn a_lost_listener_falls_back_to_the_ttl_and_comes_back(backend: Backend) {
    if backend == Backend::Sqlite {
        return;
    }
    let a = spawn_app(backend).await;
    let b = spawn_app_on(a.db.clone(), &[], None).await;
    listening(&a).await;
    listening(&b).await;
    let f = a.api_fixture(&["events_read"]).await;
    warm(&b, &f).await;

    // Cut every listener connection of this database.
    let db_url = a.db.url.clone();
    let cut = tokio::task::spawn_blocking(move || {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::PgConnection::establish(&db_url).unwrap();
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = '{}' AND datname = current_database()",
            concat_portal::gateway::listener::APPLICATION_NAME
        ))
        .execute(&mut conn)
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(cut, 2, "one listener per instance");

    // Each instance notices, says so in /healthz while it waits to reconnect (0.5 s first),
    // and comes back.
    let deadline = Instant::now() + Duration::from_secs(10);
    while health_changes(&b).await != "reconnecting" {
        assert!(Instant::now() < deadline, "the loss was not noticed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    listening(&a).await;
    listening(&b).await;

    // Back to hearing changes at once.
    warm(&b, &f).await;
    let page = format!("/org/{}/integrations/{}/revoke", f.org, f.auth_id);
    assert_eq!(a.post_form_with(&f.olga, &page, &[]).await.status(), 303);
    a.one_email_to("dana@ticketly.example").await;
    let on_b = refused_within(&b, &f, Duration::from_secs(1)).await;
    assert!(on_b.is_some(), "heard again after reconnecting");
}

/// Issue 16.3: jobs and the outbox already coordinate (advisory locks, leases); proven here:
/// a job run started on three instances at once does its work once, and the email it queued is
/// sent once by three dispatchers running at once.
async fn three_instances_run_a_job_once_and_send_its_email_once(backend: Backend) {
    if backend == Backend::Sqlite {
        return; // one process runs jobs on SQLite (documented)
    }
    let a = spawn_app(backend).await;
    let b = spawn_app_on(a.db.clone(), &[], None).await;
    let c = spawn_app_on(a.db.clone(), &[], None).await;
    for i in [&a, &b, &c] {
        listening(i).await;
    }
    a.api_fixture(&["events_read"]).await;
    // Day 335 without a request: the 30-day inactivity warning is due.
    let at = a.clock.now() + chrono::Duration::days(335);
    let (ra, rb, rc) = tokio::join!(a.run_jobs(at), b.run_jobs(at), c.run_jobs(at));
    let warned: usize = [&ra, &rb, &rc]
        .iter()
        .flat_map(|reports| reports.iter())
        .filter(|r| r.job == "inactivity")
        .map(|r| r.counts.values().sum::<u64>() as usize)
        .sum();
    assert_eq!(
        warned, 1,
        "one warning between the three: {ra:?} {rb:?} {rc:?}"
    );
    let (sa, sb, sc) = tokio::join!(a.deliver_emails(), b.deliver_emails(), c.deliver_emails());
    let sent: Vec<_> = sa
        .iter()
        .chain(&sb)
        .chain(&sc)
        .map(|e| e.to.clone())
        .collect();
    assert_eq!(sent, vec!["dana@ticketly.example".to_string()], "sent once");
}

both_backends!(
    a_revocation_reaches_every_instance_within_a_second,
    a_lost_listener_falls_back_to_the_ttl_and_comes_back,
    three_instances_run_a_job_once_and_send_its_email_once,
);

/// The Redis the tests share (`PORTAL_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`), if it
/// answers; otherwise a skip (a failure in CI).
pub(crate) fn test_redis() -> Option<String> {
    let url = std::env::var("PORTAL_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string());
    let addr = url.trim_start_matches("redis://").trim_end_matches('/');
    match std::net::TcpStream::connect_timeout(
        &addr.parse().expect("host:port in PORTAL_TEST_REDIS_URL"),
        Duration::from_secs(1),
    ) {
        Ok(_) => Some(url),
        Err(e) => {
            skip(Missing::Redis, &format!("no Redis at {url}: {e}"));
            None
        }
    }
}

/// Settings of one instance sharing rate limits in `redis` under this test's own key prefix.
pub(crate) fn shared(redis: &str, prefix: &str, limit: &str) -> Vec<(String, String)> {
    vec![
        ("PORTAL_REDIS_URL".into(), redis.to_string()),
        ("PORTAL_REDIS_KEY_PREFIX".into(), prefix.to_string()),
        ("PORTAL_API_RATE_LIMIT".into(), limit.to_string()),
    ]
}

pub(crate) fn as_pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

pub(crate) async fn me(instance: &TestApp, f: &ApiFixture) -> reqwest::Response {
    bearer(
        &client().0,
        Method::GET,
        instance.url("/api/v1/me"),
        &f.dev.api_id,
        &f.dev.secret,
    )
    .send()
    .await
    .unwrap()
}

/// Issue 16.2: three instances together admit at most the account's limit, and the headers
/// count down across them.
async fn three_instances_share_one_rate_limit(backend: Backend) {
    let Some(redis) = test_redis() else { return };
    let prefix = format!("test:{}:", uuid::Uuid::new_v4());
    let settings = shared(&redis, &prefix, "40");
    let a = spawn_app_with(backend, &as_pairs(&settings)).await;
    let b = spawn_app_on(a.db.clone(), &as_pairs(&settings), None).await;
    let c = spawn_app_on(a.db.clone(), &as_pairs(&settings), None).await;
    for i in [&a, &b, &c] {
        let body: serde_json::Value = i.get("/healthz").await.json().await.unwrap();
        assert_eq!(body["rate_limits"], "shared");
    }
    let f = a.api_fixture(&["events_read"]).await;
    let instances = [&a, &b, &c];
    let mut remaining = Vec::new();
    let mut admitted = 0;
    let started = Instant::now();
    for n in 0..80 {
        let res = me(instances[n % 3], &f).await;
        let left: u32 = res.headers()["x-ratelimit-remaining"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(res.headers()["x-ratelimit-limit"], "40");
        match res.status().as_u16() {
            200 => admitted += 1,
            429 => assert!(res.headers().contains_key("retry-after")),
            other => panic!("unexpected {other}"),
        }
        remaining.push(left);
    }
    // 40 at once, plus what refilled during the run (one every 1.5 s); no batching, so no
    // other tolerance. (Each instance alone would have admitted 40 of its own.)
    let refilled = (started.elapsed().as_secs_f64() / 1.5).floor() as usize + 1;
    assert!(
        (40..=40 + refilled).contains(&admitted),
        "admitted {admitted} of 80 in {:?}",
        started.elapsed()
    );
    for i in [&a, &b, &c] {
        let body: serde_json::Value = i.get("/healthz").await.json().await.unwrap();
        assert_eq!(body["rate_limits"], "shared", "Redis decided throughout");
    }
    assert_eq!(&remaining[..3], &[39, 38, 37], "counted across instances");
}

/// Issue 16.2: when Redis goes away each instance falls back to its own limits (and says so),
/// and returns to shared limits when Redis is back. Uses a Redis of its own on a free port.
async fn rate_limits_fall_back_to_local_while_redis_is_away(backend: Backend) {
    let Some(_) = test_redis() else { return };
    let port = crate::smtp::free_port();
    let start_redis = || {
        std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server runs")
    };
    let wait_up = || async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let mut redis = Killed(start_redis());
    wait_up().await;
    let url = format!("redis://127.0.0.1:{port}");
    let settings = shared(&url, "test:", "1000");
    let app = spawn_app_with(backend, &as_pairs(&settings)).await;
    let f = app.api_fixture(&["events_read"]).await;
    let mode = |app: &TestApp| {
        let url = app.url("/healthz");
        async move {
            let body: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
            body["rate_limits"].as_str().unwrap().to_string()
        }
    };
    assert_eq!(me(&app, &f).await.status(), 200);
    assert_eq!(mode(&app).await, "shared");

    redis.stop();
    // Still answered, by the local limit, with truthful headers.
    let res = me(&app, &f).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-ratelimit-limit"], "1000");
    assert_eq!(mode(&app).await, "local");

    let mut redis = Killed(start_redis());
    wait_up().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert_eq!(me(&app, &f).await.status(), 200);
        if mode(&app).await == "shared" {
            break;
        }
        assert!(Instant::now() < deadline, "shared limits did not come back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    redis.stop();
}

/// A `redis-server` the test started, stopped however the test ends.
struct Killed(std::process::Child);

impl Killed {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Without `PORTAL_REDIS_URL` each instance has its own limits, and says so.
async fn without_redis_limits_are_local(backend: Backend) {
    let app = spawn_app(backend).await;
    let body: serde_json::Value = app.get("/healthz").await.json().await.unwrap();
    assert_eq!(body["rate_limits"], "local");
}

both_backends!(
    three_instances_share_one_rate_limit,
    rate_limits_fall_back_to_local_while_redis_is_away,
    without_redis_limits_are_local,
);
