//! Lifecycle enforcement over real HTTP and the real jobs: the 30-day deletion duty (reminders,
//! overdue, admin resolution, usage purge), one-year inactivity (warnings, revocation,
//! exemption, the clock reset by use), reactivation, retirement, idempotency, `--dry-run`, and
//! the scheduler in `serve`. Time moves with the test clock or `--as-of`.

use chrono::{DateTime, Duration, Utc};
use concat_portal::clock::Clock;
use reqwest::Method;

use crate::support::*;

const DANA: &str = "dana@ticketly.example";

/// Subjects of the emails delivered now, by recipient, sorted.
async fn delivered(app: &TestApp) -> Vec<(String, String)> {
    let mut v: Vec<_> = app
        .deliver_emails()
        .await
        .into_iter()
        .map(|e| (e.to, e.subject))
        .collect();
    v.sort();
    v
}

async fn revoke(app: &TestApp, f: &ApiFixture) -> DateTime<Utc> {
    let res = app
        .post_form_with(
            &f.olga,
            &format!("/org/{}/integrations/{}/revoke", f.org, f.auth_id),
            &[],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(app.one_email_to(DANA).await.subject.contains("revoked"));
    app.clock.now()
}

async fn api_status(app: &TestApp, path: &str, api_id: &str, secret: &str) -> u16 {
    bearer(&client().0, Method::GET, app.url(path), api_id, secret)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `GET /api/v1/me` with the fixture's credentials and an `EventId` header.
async fn me_with_event(app: &TestApp, f: &ApiFixture, event: &str) -> u16 {
    bearer(
        &client().0,
        Method::GET,
        app.url("/api/v1/me"),
        &f.dev.api_id,
        &f.dev.secret,
    )
    .header("EventId", event)
    .send()
    .await
    .unwrap()
    .status()
    .as_u16()
}

async fn deletion_duty_reminders_overdue_resolution_and_purge(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let f = app.api_fixture(&["events_read"]).await;
    let evts = app.seed_events(&f.org, 2).await;
    let events = format!("/api/v1/organizations/{}/events", f.org);
    for _ in 0..3 {
        assert_eq!(
            api_status(&app, &events, &f.dev.api_id, &f.dev.secret).await,
            200
        );
    }
    // Requests of no organization that name one of its events (`EventId`), one of them with
    // `_apikey` (refused here, and counted as such).
    let http = client().0;
    assert_eq!(me_with_event(&app, &f, &evts[0]).await, 200);
    let query = format!("/api/v1/me?_apikey={}:{}", f.dev.api_id, f.dev.secret);
    let res = http
        .get(app.url(&query))
        .header("EventId", &evts[1])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    app.flush_usage().await;
    let detailed =
        |rows: &std::collections::HashMap<(String, String, String, String, i32), i64>| {
            rows.iter()
                .filter(|((a, o, e, ..), _)| *a == f.dev.api_id && !(o.is_empty() && e.is_empty()))
                .map(|(_, n)| *n)
                .sum::<i64>()
        };
    let query_key = |rows: &std::collections::HashMap<(String, i32), (i64, i64)>| {
        rows.iter()
            .filter(|((a, _), _)| *a == f.dev.api_id)
            .map(|(_, (_, q))| *q)
            .sum::<i64>()
    };
    let total = |rows: &std::collections::HashMap<(String, String, String, String, i32), i64>| {
        rows.iter()
            .filter(|((a, ..), _)| *a == f.dev.api_id)
            .map(|(_, n)| *n)
            .sum::<i64>()
    };
    let before = app.usage_rows().await;
    assert_eq!(detailed(&before), 5, "{before:?}");
    assert_eq!(total(&before), 5);
    assert_eq!(query_key(&app.query_key_rows().await), 1);

    let t0 = revoke(&app, &f).await;
    // Nothing before day 23.
    app.run_jobs(t0 + Duration::days(22)).await;
    assert_eq!(delivered(&app).await, vec![]);
    // Day 23: the 7-day reminder, once.
    let reports = app.run_jobs(t0 + Duration::days(23)).await;
    assert_eq!(
        reports[0].counts.get("reminders (7 days)"),
        Some(&1),
        "{reports:?}"
    );
    let sent = app.deliver_emails().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, DANA);
    assert!(
        sent[0]
            .subject
            .starts_with("Reminder: delete the data of Acme Events"),
        "{}",
        sent[0].subject
    );
    assert!(sent[0].text.contains("7 days from now"), "{}", sent[0].text);
    app.run_jobs(t0 + Duration::days(24)).await;
    assert_eq!(delivered(&app).await, vec![]);
    // Day 29: the 1-day reminder.
    app.run_jobs(t0 + Duration::days(29)).await;
    let sent = app.deliver_emails().await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].text.contains("1 day from now"), "{}", sent[0].text);
    // Day 30, just before the deadline: still open; at the deadline: overdue, developer and admins told.
    app.run_jobs(t0 + Duration::days(30) - Duration::minutes(1))
        .await;
    assert_eq!(delivered(&app).await, vec![]);
    app.clock.set(t0 + Duration::days(30));
    let reports = app.run_jobs(t0 + Duration::days(30)).await;
    assert_eq!(reports[0].counts.get("overdue"), Some(&1));
    assert_eq!(
        reports[1].counts.get("usage details purged"),
        Some(&1),
        "{reports:?}"
    );
    let sent = delivered(&app).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].0, ADMIN_EMAIL);
    assert!(
        sent[0]
            .1
            .starts_with("Overdue data deletion: Ticketly App (Ticketly)"),
        "{sent:?}"
    );
    assert_eq!(sent[1].0, DANA);
    assert!(
        sent[1].1.starts_with("Overdue: the data of Acme Events"),
        "{sent:?}"
    );
    assert!(app
        .audit_actions()
        .await
        .contains(&"deletion.overdue".to_string()));

    // Usage detail for the organization is folded into totals without it.
    let after = app.usage_rows().await;
    assert_eq!(detailed(&after), 0, "{after:?}");
    assert_eq!(total(&after), 5, "totals kept");
    assert_eq!(query_key(&app.query_key_rows().await), 1, "kept too");
    // After the purge, the organization's event ids are no longer written.
    assert_eq!(me_with_event(&app, &f, &evts[0]).await, 200);
    app.flush_usage().await;
    let later = app.usage_rows().await;
    assert_eq!(detailed(&later), 0, "{later:?}");
    assert_eq!(total(&later), 6);

    // Compliance page and the organization's page show it overdue.
    app.login_with(&admin, ADMIN_EMAIL, PASSWORD).await;
    let page = app
        .get_with(&admin, "/admin/compliance?state=overdue")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("duty-{}", f.auth_id)), "{page}");
    assert!(page.contains("badge-duty-overdue"));
    app.login_with(&f.olga, "olga@acme.example", PASSWORD).await;
    let org_page = app
        .get_with(&f.olga, &format!("/org/{}/integrations", f.org))
        .await
        .text()
        .await
        .unwrap();
    assert!(org_page.contains("badge-duty-overdue"));

    // An admin records the resolution: a note is required, and what was typed is kept.
    let resolve = format!("/admin/compliance/{}/resolve", f.auth_id);
    let res = app
        .post_form_with(&admin, &resolve, &[("note", "   ")])
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Please write a few words."));
    let res = app
        .post_form_with(
            &admin,
            &resolve,
            &[("note", "Deletion confirmed by email on day 31")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = app
        .get_with(&admin, "/admin/compliance?state=confirmed")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("recorded by ConCat")
            && page.contains("Deletion confirmed by email on day 31"),
        "{page}"
    );
    assert!(app
        .audit_actions()
        .await
        .contains(&"deletion.resolved".to_string()));
    // Nothing more is due, ever (the usage-retention job's daily upkeep aside).
    let reports = app.run_jobs(t0 + Duration::days(60)).await;
    assert!(
        reports
            .iter()
            .filter(|r| r.job != "usage-retention")
            .all(|r| r.total() == 0),
        "{reports:?}"
    );
    assert_eq!(delivered(&app).await, vec![]);
}

async fn attestation_before_the_deadline_stops_every_reminder(backend: Backend) {
    let app = spawn_app(backend).await;
    app.admin().await;
    let f = app.api_fixture(&["events_read"]).await;
    let t0 = revoke(&app, &f).await;
    app.clock.set(t0 + Duration::days(10));
    app.login_with(&f.dev.client, DANA, PASSWORD).await;
    let res = app
        .post_form_with(
            &f.dev.client,
            &format!(
                "/developer/integrations/{}/duties/{}/confirm",
                f.dev.integration_id, f.auth_id
            ),
            &[("note", "done")],
        )
        .await;
    assert_eq!(res.status(), 303);
    for day in [23, 29, 30, 31, 45] {
        let reports = app.run_jobs(t0 + Duration::days(day)).await;
        assert_eq!(reports[0].total(), 0, "day {day}: {reports:?}");
    }
    assert_eq!(delivered(&app).await, vec![]);
}

async fn inactivity_warnings_revocation_and_exemption(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let f = app.api_fixture(&["events_read"]).await;
    let t0 = app.clock.now();
    let erin = app
        .approved_developer("erin@quiet.example", "Quiet Co")
        .await;
    // Erin's integration is exempt (audited, with a reason).
    let exempt = format!("/admin/integrations/{}/exemption", erin.integration_id);
    let res = app
        .post_form_with(&admin, &exempt, &[("exempt", "true"), ("note", "")])
        .await;
    assert_eq!(res.status(), 422, "a reason is required");
    let res = app
        .post_form_with(
            &admin,
            &exempt,
            &[("exempt", "true"), ("note", "Seasonal festival app")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(app
        .audit_actions()
        .await
        .contains(&"integration.inactivity_exempted".to_string()));

    app.run_jobs(t0 + Duration::days(334)).await;
    assert_eq!(delivered(&app).await, vec![]);
    // Day 335: the 30-day warning, and the dashboard counts down.
    app.run_jobs(t0 + Duration::days(335)).await;
    let sent = delivered(&app).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, DANA);
    assert!(sent[0].1.contains("will lose its API access"), "{sent:?}");
    app.run_jobs(t0 + Duration::days(336)).await;
    assert_eq!(delivered(&app).await, vec![]);
    app.clock.set(t0 + Duration::days(336));
    app.login_with(&f.dev.client, DANA, PASSWORD).await;
    let dash = app
        .get_with(&f.dev.client, "/developer")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        dash.contains("countdown") && dash.contains("(29 days left)"),
        "{dash}"
    );
    // Day 358: the 7-day warning.
    app.run_jobs(t0 + Duration::days(358)).await;
    let sent = delivered(&app).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    // Day 365: revoked; the API refuses the secret at once. (A successful request now would
    // count as use and restart the clock.)
    app.clock.set(t0 + Duration::days(365));
    let reports = app.run_jobs(t0 + Duration::days(365)).await;
    assert_eq!(
        reports[2].counts.get("credentials revoked"),
        Some(&1),
        "{reports:?}"
    );
    assert_eq!(
        api_status(&app, "/api/v1/me", &f.dev.api_id, &f.dev.secret).await,
        401
    );
    let sent = app.deliver_emails().await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0]
        .subject
        .contains("API access revoked after a year without use"));
    assert!(sent[0].text.contains("ask for reactivation"));
    assert!(app
        .audit_actions()
        .await
        .contains(&"integration.deactivated".to_string()));
    // The exempt integration is untouched.
    assert!(app.credentials_valid(&erin.api_id, &erin.secret).await);
    app.run_jobs(t0 + Duration::days(800)).await;
    assert_eq!(delivered(&app).await, vec![]);
    // (Erin last used the API on day 365, above: the exemption kept it from mattering.)
    // When the exemption ends, the warnings start over: never a revocation without notice.
    app.login_with(&admin, ADMIN_EMAIL, PASSWORD).await;
    let res = app
        .post_form_with(
            &admin,
            &exempt,
            &[("exempt", "false"), ("note", "Festival ended")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let reports = app.run_jobs(t0 + Duration::days(801)).await;
    assert_eq!(
        reports[2].counts.get("warnings (30 days)"),
        Some(&1),
        "{reports:?}"
    );
    let sent = delivered(&app).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "erin@quiet.example");
    assert!(app.credentials_valid(&erin.api_id, &erin.secret).await);
    let reports = app.run_jobs(t0 + Duration::days(802)).await;
    assert_eq!(reports[2].total(), 0, "{reports:?}");
}

async fn an_api_call_resets_the_inactivity_clock(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read"]).await;
    let t0 = app.clock.now();
    app.clock.set(t0 + Duration::days(300));
    assert_eq!(
        api_status(&app, "/api/v1/me", &f.dev.api_id, &f.dev.secret).await,
        200
    );
    app.flush_usage().await;
    for day in [335, 365, 600] {
        app.run_jobs(t0 + Duration::days(day)).await;
        assert_eq!(delivered(&app).await, vec![], "day {day}");
    }
    app.run_jobs(t0 + Duration::days(300 + 335)).await;
    assert_eq!(
        delivered(&app).await.len(),
        1,
        "the clock restarted on day 300"
    );
    app.run_jobs(t0 + Duration::days(300 + 358)).await;
    assert_eq!(delivered(&app).await.len(), 1);
    let reports = app.run_jobs(t0 + Duration::days(300 + 365)).await;
    assert_eq!(reports[2].counts.get("credentials revoked"), Some(&1));
    app.deliver_emails().await;
}

async fn reactivation_gives_a_new_secret_and_keeps_old_ones_dead(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let f = app.api_fixture(&["events_read"]).await;
    let t0 = app.clock.now();
    let at = t0 + Duration::days(365);
    for day in [335, 358, 365] {
        app.run_jobs(t0 + Duration::days(day)).await;
        assert_eq!(app.deliver_emails().await.len(), 1, "day {day}");
    }
    app.login_with(&f.dev.client, DANA, PASSWORD).await;
    let page_path = format!("/developer/integrations/{}", f.dev.integration_id);
    let page = app
        .get_with(&f.dev.client, &page_path)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Revoked for inactivity") && page.contains("Request reactivation"));
    let form = format!("{page_path}/reactivation");
    let res = app
        .post_form_with(&f.dev.client, &form, &[("reason", "")])
        .await;
    assert_eq!(res.status(), 422);
    let res = app
        .post_form_with(
            &f.dev.client,
            &form,
            &[("reason", "Our festival season starts again")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let sent = app.one_email_to(ADMIN_EMAIL).await;
    assert!(sent
        .subject
        .starts_with("Reactivation requested: Ticketly App"));
    // A second request while one is pending is refused politely.
    app.post_form_with(&f.dev.client, &form, &[("reason", "again")])
        .await;
    let page = app
        .get_with(&f.dev.client, &page_path)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("already waiting for review"), "{page}");

    app.login_with(&admin, ADMIN_EMAIL, PASSWORD).await;
    let queue = app
        .get_with(&admin, "/admin/requests")
        .await
        .text()
        .await
        .unwrap();
    let at_id = queue.find("id=\"reactivation-").expect("listed") + "id=\"reactivation-".len();
    let request_id = &queue[at_id..at_id + 36];
    assert!(queue.contains("Our festival season starts again"));
    // Another developer cannot approve; the admin can.
    let res = app
        .post_form_with(
            &f.dev.client,
            &format!("/admin/reactivations/{request_id}/approve"),
            &[],
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .post_form_with(
            &admin,
            &format!("/admin/reactivations/{request_id}/approve"),
            &[],
        )
        .await;
    assert_eq!(res.status(), 303);
    let sent = app.one_email_to(DANA).await;
    assert!(sent.subject.contains("is active again"));
    assert!(!sent.text.contains(&f.dev.secret));
    assert!(app
        .audit_actions()
        .await
        .contains(&"integration.reactivated".to_string()));

    // The old secret stays dead; a new one, shown once, works; Acme's authorization is intact.
    assert_eq!(
        api_status(&app, "/api/v1/me", &f.dev.api_id, &f.dev.secret).await,
        401
    );
    let html = app
        .post_form_with(&f.dev.client, &format!("{page_path}/secrets"), &[])
        .await
        .text()
        .await
        .unwrap();
    let new_secret = secret_in(&html).expect("the new secret is shown");
    let http = client().0;
    let (status, orgs) = api_json(
        bearer(
            &http,
            Method::GET,
            app.url("/api/v1/organizations"),
            &f.dev.api_id,
            &new_secret,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(orgs["data"][0]["id"], serde_json::json!(f.org));
    // The clock restarted at reactivation.
    app.run_jobs(at + Duration::days(300)).await;
    assert_eq!(delivered(&app).await, vec![]);
}

async fn retirement_ends_everything_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let f = app.api_fixture(&["events_read"]).await;
    let retire = format!("/developer/integrations/{}/retire", f.dev.integration_id);
    let form = app
        .get_with(&f.dev.client, &retire)
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains("Acme Events") && form.contains("Type the display name to confirm"));
    let res = app
        .post_form_with(&f.dev.client, &retire, &[("confirm_name", "Ticketly")])
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("Type the integration&#x27;s display name exactly")
            || body.contains("display name exactly"),
        "{body}"
    );
    assert!(
        body.contains("value=\"Ticketly\""),
        "the typed text is kept"
    );
    assert!(app.credentials_valid(&f.dev.api_id, &f.dev.secret).await);

    let res = app
        .post_form_with(&f.dev.client, &retire, &[("confirm_name", "Ticketly App")])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        api_status(&app, "/api/v1/me", &f.dev.api_id, &f.dev.secret).await,
        401
    );
    let sent = delivered(&app).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].0, DANA);
    assert_eq!(sent[0].1, "Ticketly App is retired");
    assert_eq!(sent[1].0, "olga@acme.example");
    assert!(sent[1]
        .1
        .contains("was retired: its access to Acme Events ended"));
    assert!(app
        .audit_actions()
        .await
        .contains(&"integration.retired".to_string()));
    // The duty began for Acme; the integration left the lists; it cannot be authorized again.
    let org_page = format!("/org/{}/integrations", f.org);
    let listing = app.get_with(&f.olga, &org_page).await.text().await.unwrap();
    assert!(listing.contains("badge-duty-pending"));
    let res = app
        .post_form_with(
            &f.olga,
            &format!("{org_page}/authorize"),
            &[("api_id", &f.dev.api_id), ("events_read", "on")],
        )
        .await;
    let body = res.text().await.unwrap();
    assert!(body.contains("no longer active"), "{body}");
    let dash = app
        .get_with(&f.dev.client, "/developer")
        .await
        .text()
        .await
        .unwrap();
    let (listed, retired) = dash
        .split_once("id=\"retired\"")
        .expect("the duty stays in view");
    let card = format!("href=\"/developer/integrations/{}\"", f.dev.integration_id);
    assert!(!listed.contains(&card), "gone from the list");
    assert!(retired.contains("Delete the data of Acme Events"));
    let admin_list = app
        .get_with(&admin, "/admin/integrations")
        .await
        .text()
        .await
        .unwrap();
    assert!(!admin_list.contains(&f.dev.api_id));
    // The retirement page of another developer's integration is not found; of this one, gone.
    let erin = app
        .approved_developer("erin@quiet.example", "Quiet Co")
        .await;
    let other = format!("/developer/integrations/{}/retire", erin.integration_id);
    assert_eq!(app.get_with(&f.dev.client, &other).await.status(), 404);
    assert_eq!(
        app.post_form_with(&f.dev.client, &other, &[("confirm_name", "Quiet Co App")])
            .await
            .status(),
        404
    );
    assert!(app.credentials_valid(&erin.api_id, &erin.secret).await);
    assert_eq!(app.get_with(&f.dev.client, &retire).await.status(), 404);
}

async fn jobs_are_idempotent_twice_and_concurrently(backend: Backend) {
    let app = spawn_app(backend).await;
    app.admin().await;
    let f = app.api_fixture(&["events_read"]).await;
    let t0 = revoke(&app, &f).await;
    app.run_jobs(t0 + Duration::days(23)).await;
    app.run_jobs(t0 + Duration::days(23)).await;
    assert_eq!(delivered(&app).await.len(), 1);
    for day in [29, 30] {
        let at = t0 + Duration::days(day);
        let (a, b) = tokio::join!(app.run_jobs(at), app.run_jobs(at));
        let done = a[0].total() + b[0].total();
        assert_eq!(
            done, 1,
            "day {day}: exactly one run did the step: {a:?} {b:?}"
        );
        let expected = if day == 30 { 2 } else { 1 };
        assert_eq!(delivered(&app).await.len(), expected, "day {day}");
    }
    // Every email was queued exactly once: two reminders and two overdue notices in all.
    let all = app.outbox_subjects().await;
    let count = |prefix: &str| all.iter().filter(|(_, s)| s.starts_with(prefix)).count();
    assert_eq!(
        count("Reminder: delete the data of Acme Events"),
        2,
        "{all:?}"
    );
    assert_eq!(count("Overdue"), 2, "{all:?}");
    // The runs are recorded for the Jobs page.
    let admin = app.admin().await;
    let page = app
        .get_with(&admin, "/admin/jobs")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("deletion-duties") && page.contains("1 overdue"),
        "{page}"
    );
}

async fn dry_run_changes_nothing_and_prints_the_plan(backend: Backend) {
    let app = spawn_app(backend).await;
    app.admin().await;
    let f = app.api_fixture(&["events_read"]).await;
    let t0 = revoke(&app, &f).await;
    let cli_at = |days: i64| {
        let at = t0 + Duration::days(days) + Duration::minutes(1);
        (at, at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    };
    let (at, as_of) = cli_at(30);
    let before = app.db_snapshot().await;
    let (code, out, err) = app.jobs_cli(&["--as-of", &as_of, "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("Dry run (nothing changed)"), "{out}");
    assert!(out.contains("would mark overdue, tell the owners and ConCat admins: Ticketly · Ticketly App must delete the data of Acme Events"), "{out}");
    assert!(
        out.contains("would fold the usage detail of Ticketly App"),
        "{out}"
    );
    assert!(out.contains("inactivity: ok, nothing due"), "{out}");
    assert_eq!(app.db_snapshot().await, before, "the database is identical");
    let (code, out, _) = app.jobs_cli(&["--as-of", &cli_at(400).1, "--dry-run"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("would warn the owners of Ticketly App"),
        "{out}"
    );
    assert_eq!(app.db_snapshot().await, before, "still identical");

    // For real, through the command line.
    let (code, out, err) = app.jobs_cli(&["--as-of", &as_of]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("deletion-duties: ok, 1 overdue"), "{out}");
    assert!(out.contains("did: mark overdue"), "{out}");
    assert_ne!(app.db_snapshot().await, before);
    app.clock.set(at);
    assert_eq!(delivered(&app).await.len(), 2);
    for (days, expect) in [
        (335, "1 warnings (30 days)"),
        (358, "1 warnings (7 days)"),
        (365, "1 credentials revoked"),
    ] {
        let (at, as_of) = cli_at(days);
        let (code, out, err) = app.jobs_cli(&["--as-of", &as_of]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            out.contains(&format!("inactivity: ok, {expect}")),
            "day {days}: {out}"
        );
        app.clock.set(at);
        assert_eq!(delivered(&app).await.len(), 1, "day {days}");
    }
    // Another process revoked the credentials: this server notices within 5 seconds.
    let started = std::time::Instant::now();
    loop {
        let status = api_status(&app, "/api/v1/me", &f.dev.api_id, &f.dev.secret).await;
        if status == 401 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(7),
            "still {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    // A bad time is a clear message, not a crash.
    let (code, _, err) = app.jobs_cli(&["--as-of", "next tuesday"]);
    assert_eq!(code, 2);
    assert!(err.contains("not an RFC 3339 time"), "{err}");
}

/// `jobs run --as-of` a year ahead: the steps happen now, so their emails are due now (the
/// dispatcher at the real time sends them), while their texts carry the simulated dates.
async fn as_of_in_the_future_sends_the_emails_of_what_it_does_now(backend: Backend) {
    let app = spawn_app(backend).await;
    app.admin().await;
    let f = app.api_fixture(&["events_read"]).await;
    let t0 = revoke(&app, &f).await;
    let as_of = t0 + Duration::days(400);
    let (code, out, err) =
        app.jobs_cli(&["--as-of", &as_of.format("%Y-%m-%dT%H:%M:%SZ").to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("deletion-duties: ok, 1 overdue"), "{out}");
    assert!(
        out.contains("inactivity: ok, 1 warnings (30 days)"),
        "{out}"
    );
    let real_now = Utc::now().naive_utc();
    let queued = app.unsent().await;
    assert_eq!(queued.len(), 3, "two overdue notices and one warning");
    for row in &queued {
        assert!(
            row.next_attempt_at <= real_now && row.created_at <= real_now,
            "{} is due at {} (as of {as_of})",
            row.subject,
            row.next_attempt_at
        );
    }
    // The dispatcher at the real time (the test clock has not moved a day) sends all of them.
    app.clock.set(Utc::now());
    let sent = app.deliver_emails().await;
    assert_eq!(sent.len(), 3);
    let deadline = (t0 + Duration::days(30))
        .format("%Y-%m-%d %H:%M UTC")
        .to_string();
    let overdue = sent
        .iter()
        .find(|e| e.to == DANA && e.subject.starts_with("Overdue"))
        .expect("the developer's overdue notice");
    assert!(overdue.text.contains(&deadline), "{}", overdue.text);
    let warning = sent
        .iter()
        .find(|e| e.to == DANA && !e.subject.starts_with("Overdue"))
        .expect("the inactivity warning");
    let revoke_on = (as_of + Duration::days(30)).format("%Y-%m-%d").to_string();
    assert!(
        warning.text.contains(&revoke_on) && warning.text.contains("(30 days from now)"),
        "{}",
        warning.text
    );
}

async fn serve_runs_the_scheduler(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("PORTAL_JOBS_SCHEDULER", "true"),
            ("PORTAL_JOBS_INTERVAL_SECS", "1"),
        ],
    )
    .await;
    let admin = app.admin().await;
    let started = std::time::Instant::now();
    loop {
        let page = app
            .get_with(&admin, "/admin/jobs")
            .await
            .text()
            .await
            .unwrap();
        let table = page
            .split("Recent runs")
            .next()
            .unwrap_or_default()
            .to_string();
        if ["deletion-duties", "usage-purge", "inactivity"]
            .iter()
            .all(|j| table.contains(j))
            && !table.contains("Never ran")
        {
            assert!(table.contains("badge-job-ok"), "{table}");
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Not for anyone else.
    let f = app.approved_developer(DANA, "Ticketly").await;
    assert_eq!(app.get_with(&f.client, "/admin/jobs").await.status(), 403);
}

both_backends!(
    deletion_duty_reminders_overdue_resolution_and_purge,
    attestation_before_the_deadline_stops_every_reminder,
    inactivity_warnings_revocation_and_exemption,
    an_api_call_resets_the_inactivity_clock,
    reactivation_gives_a_new_secret_and_keeps_old_ones_dead,
    retirement_ends_everything_at_once,
    jobs_are_idempotent_twice_and_concurrently,
    dry_run_changes_nothing_and_prints_the_plan,
    serve_runs_the_scheduler,
    as_of_in_the_future_sends_the_emails_of_what_it_does_now,
);
