//! Issue 16.1: several instances on one PostgreSQL database behave as one. A change made
//! through one instance is announced from its transaction (`NOTIFY`) and every other instance
//! drops what it cached, so a revocation is refused everywhere within a second — not when the
//! other caches expire (`PORTAL_API_CACHE_TTL_MS`, 5 s by default). If an instance's listener
//! loses its connection it clears its caches, says so in `/healthz`, logs it, reconnects and
//! hears changes at once again. On SQLite (one process) there is nothing to listen to.

use std::time::{Duration, Instant};

use reqwest::Method;

use crate::support::*;

async fn health_changes(app: &TestApp) -> String {
    let body: serde_json::Value = app.get("/healthz").await.json().await.unwrap();
    body["changes"].as_str().unwrap_or_default().to_string()
}

/// Polls `instance` until the integration's request is refused (403), at most `within`;
/// returns how long it took.
async fn refused_within(instance: &TestApp, f: &ApiFixture, within: Duration) -> Option<Duration> {
    let http = client().0;
    let started = Instant::now();
    while started.elapsed() < within {
        let status = bearer(
            &http,
            Method::GET,
            instance.url(&format!("/api/v1/organizations/{}/events", f.org)),
            &f.dev.api_id,
            &f.dev.secret,
        )
        .send()
        .await
        .unwrap()
        .status();
        if status == 403 {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    None
}

async fn warm(instance: &TestApp, f: &ApiFixture) {
    let http = client().0;
    let res = bearer(
        &http,
        Method::GET,
        instance.url(&format!("/api/v1/organizations/{}/events", f.org)),
        &f.dev.api_id,
        &f.dev.secret,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "cached as allowed");
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
        assert_eq!(health_changes(i).await, "listening");
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

    // The loss is logged, and the listener comes back (backoff starts at 0.5 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !captured_logs().contains("the change listener lost its connection") {
        assert!(Instant::now() < deadline, "the loss was not logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while health_changes(&b).await != "listening" || health_changes(&a).await != "listening" {
        assert!(Instant::now() < deadline, "the listener did not come back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(captured_logs().contains("the change listener is back"));

    // Back to hearing changes at once.
    warm(&b, &f).await;
    let page = format!("/org/{}/integrations/{}/revoke", f.org, f.auth_id);
    assert_eq!(a.post_form_with(&f.olga, &page, &[]).await.status(), 303);
    a.one_email_to("dana@ticketly.example").await;
    let on_b = refused_within(&b, &f, Duration::from_secs(1)).await;
    assert!(on_b.is_some(), "heard again after reconnecting");
}

both_backends!(
    a_revocation_reaches_every_instance_within_a_second,
    a_lost_listener_falls_back_to_the_ttl_and_comes_back,
);
