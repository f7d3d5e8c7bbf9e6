//! Issue 16.5: metrics for operators, in the Prometheus text format, on a listener of their own
//! (`PORTAL_METRICS_ADDR`, off by default; never on the public listener). Every scrape is read
//! by the Prometheus project's own parser (`prometheus_client`, pinned in
//! tests/python-requirements.txt), so a malformed exposition fails the test.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use concat_portal::clock::Clock;
use concat_portal::db;
use concat_portal::db::models::outbox::{count_by_status, OutboxStatus};

use crate::cluster::{as_pairs, listening, me, shared, test_redis};
use crate::support::*;

/// One scrape, as parsed by `prometheus_client`: value by sample name and its labels
/// (`name{a="1",b="2"}`, labels sorted).
struct Scrape(HashMap<String, f64>);

impl Scrape {
    fn get(&self, sample: &str) -> f64 {
        *self
            .0
            .get(sample)
            .unwrap_or_else(|| panic!("{sample} not in the scrape: {:?}", self.names()))
    }

    fn sum(&self, prefix: &str) -> f64 {
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }

    fn names(&self) -> Vec<&String> {
        let mut names: Vec<_> = self.0.keys().collect();
        names.sort();
        names
    }
}

const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
        out[s.name + ("{" + labels + "}" if labels else "")] = s.value
json.dump(out, sys.stdout)
"#;

async fn scrape(app: &TestApp) -> Option<Scrape> {
    let python = test_python("prometheus_client")?;
    let port = app.metrics_port.expect("a metrics listener");
    let res = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = res.text().await.unwrap();
    let mut child = Command::new(python)
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client could not parse the scrape: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(Scrape(serde_json::from_slice(&out.stdout).unwrap()))
}

async fn metrics_are_off_by_default_and_never_public(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.metrics_port, None);
    assert_eq!(app.get("/metrics").await.status(), 404);

    let app = spawn_app_with(backend, &[("PORTAL_METRICS_ADDR", "127.0.0.1:0")]).await;
    assert!(app.metrics_port.is_some());
    assert_eq!(
        app.get("/metrics").await.status(),
        404,
        "the public listener serves no metrics"
    );
    let other = reqwest::get(format!(
        "http://127.0.0.1:{}/login",
        app.metrics_port.unwrap()
    ))
    .await
    .unwrap();
    assert_eq!(other.status(), 404, "the metrics listener serves no pages");
}

async fn metrics_count_requests_cache_refusals_jobs_and_the_outbox(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("PORTAL_METRICS_ADDR", "127.0.0.1:0"),
            ("PORTAL_API_RATE_LIMIT", "3"),
        ],
    )
    .await;
    if backend == Backend::Postgres {
        listening(&app).await;
    }
    let f = app.api_fixture(&["events_read"]).await;
    let Some(before) = scrape(&app).await else {
        return;
    };
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(me(&app, &f).await.status().as_u16());
        }
        v
    };
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert_eq!(app.get("/no/such/page").await.status(), 404);
    assert_eq!(app.get("/login").await.status(), 200);
    let at = app.clock.now();
    app.run_jobs(at).await;
    // An email waiting in the outbox (the tests' dispatcher sends only when asked).
    app.post_form("/forgot-password", &[("email", "dana@ticketly.example")])
        .await;
    app.background.idle().await;

    let after = scrape(&app).await.unwrap();
    let delta = |s: &str| after.get(s) - before.0.get(s).copied().unwrap_or(0.0);
    assert_eq!(
        delta(r#"portal_http_requests_total{class="api",status="200"}"#),
        3.0
    );
    assert_eq!(
        delta(r#"portal_http_requests_total{class="api",status="429"}"#),
        2.0
    );
    assert_eq!(
        delta(r#"portal_http_requests_total{class="other",status="404"}"#),
        1.0
    );
    assert!(delta(r#"portal_http_requests_total{class="public",status="200"}"#) >= 1.0);
    // The histogram counts the same requests.
    assert_eq!(
        delta(r#"portal_http_request_duration_seconds_count{class="api",status="200"}"#),
        3.0
    );
    assert_eq!(
        delta(r#"portal_http_request_duration_seconds_bucket{class="api",le="+Inf",status="200"}"#),
        3.0
    );
    // Every request was looked up: the first read the database, the rest came from memory.
    let lookups =
        after.sum("portal_credential_cache_total") - before.sum("portal_credential_cache_total");
    assert_eq!(lookups, 5.0);
    assert!(delta(r#"portal_credential_cache_total{result="hit"}"#) >= 3.0);
    assert_eq!(
        delta(r#"portal_rate_limit_refusals_total{limit="account",mode="local"}"#),
        2.0
    );
    assert_eq!(after.get(r#"portal_rate_limit_mode{mode="local"}"#), 1.0);
    for job in concat_portal::jobs::JOBS {
        assert_eq!(
            delta(&format!(
                r#"portal_job_runs_total{{job="{job}",outcome="ok"}}"#
            )),
            1.0,
            "{job}"
        );
    }
    // The outbox, read at the scrape: what the database holds.
    let queued = db::run(&app.pool, |c| Ok(count_by_status(c, OutboxStatus::Queued)?))
        .await
        .unwrap();
    assert!(queued > 0, "the fixture's emails wait in the outbox");
    assert_eq!(
        after.get(r#"portal_outbox_messages{status="queued"}"#),
        queued as f64
    );
    assert_eq!(after.get(r#"portal_outbox_messages{status="failed"}"#), 0.0);
    assert!(after.get("portal_outbox_oldest_queued_seconds") >= 0.0);
    app.one_email_to("dana@ticketly.example").await;
    let listener = if backend == Backend::Postgres {
        "listening"
    } else {
        "off"
    };
    assert_eq!(
        after.get(&format!(
            r#"portal_change_listener_state{{state="{listener}"}}"#
        )),
        1.0
    );
    assert_eq!(
        after.get(r#"portal_change_listener_state{state="reconnecting"}"#),
        0.0
    );
}

/// On PostgreSQL a change announced by one instance is applied by the other, and its lag is
/// measured from the announcing transaction.
async fn the_lag_of_announced_changes_is_measured(backend: Backend) {
    if backend == Backend::Sqlite {
        return; // one process: nothing is announced
    }
    let a = spawn_app(backend).await;
    let b = spawn_app_on(
        a.db.clone(),
        &[("PORTAL_METRICS_ADDR", "127.0.0.1:0")],
        None,
    )
    .await;
    listening(&a).await;
    listening(&b).await;
    let f = a.api_fixture(&["events_read"]).await;
    let Some(before) = scrape(&b).await else {
        return;
    };
    let page = format!("/org/{}/integrations/{}/revoke", f.org, f.auth_id);
    assert_eq!(a.post_form_with(&f.olga, &page, &[]).await.status(), 303);
    a.one_email_to("dana@ticketly.example").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = scrape(&b).await.unwrap();
        let applied =
            now.get("portal_changes_applied_total") - before.get("portal_changes_applied_total");
        let lagged = now.get("portal_change_lag_seconds_count")
            - before.get("portal_change_lag_seconds_count");
        if applied >= 1.0 {
            assert_eq!(lagged, applied, "every announcement says when it was made");
            assert!(
                now.get(r#"portal_change_lag_seconds_bucket{le="1"}"#)
                    - before.get(r#"portal_change_lag_seconds_bucket{le="1"}"#)
                    >= 1.0,
                "applied within a second"
            );
            break;
        }
        assert!(Instant::now() < deadline, "B never applied the revocation");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// With shared limits, a refusal decided in Redis is counted as shared.
async fn shared_refusals_are_counted_as_shared(backend: Backend) {
    let Some(redis) = test_redis() else { return };
    let prefix = format!("test:{}:", uuid::Uuid::new_v4());
    let mut settings = shared(&redis, &prefix, "2");
    settings.push(("PORTAL_METRICS_ADDR".into(), "127.0.0.1:0".into()));
    let app = spawn_app_with(backend, &as_pairs(&settings)).await;
    let f = app.api_fixture(&["events_read"]).await;
    for expected in [200, 200, 429] {
        assert_eq!(me(&app, &f).await.status(), expected);
    }
    let Some(after) = scrape(&app).await else {
        return;
    };
    assert_eq!(
        after.get(r#"portal_rate_limit_refusals_total{limit="account",mode="shared"}"#),
        1.0
    );
    assert_eq!(after.get(r#"portal_rate_limit_mode{mode="shared"}"#), 1.0);
}

both_backends!(
    metrics_are_off_by_default_and_never_public,
    metrics_count_requests_cache_refusals_jobs_and_the_outbox,
    the_lag_of_announced_changes_is_measured,
    shared_refusals_are_counted_as_shared,
);
