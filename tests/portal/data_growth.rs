//! Issue 16, "costs that grow with data": pages read daily rollups kept by the usage flush (not
//! the raw counters), the admin overview reads 30-day totals the usage-retention job refreshes
//! daily (corrected by the days in between), raw counters are deleted after
//! `PORTAL_USAGE_RETENTION_DAYS` while the rollups stay, and long lists page by position
//! (keyset), not by `OFFSET`.

use chrono::Duration;
use concat_portal::clock::Clock;
use concat_portal::db;
use concat_portal::db::models::api_usage;
use reqwest::Method;

use crate::support::*;

async fn me(app: &TestApp, f: &ApiFixture, n: usize) {
    let http = client().0;
    for _ in 0..n {
        let res = bearer(
            &http,
            Method::GET,
            app.url("/api/v1/me"),
            &f.dev.api_id,
            &f.dev.secret,
        )
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), 200);
    }
}

/// The admin overview's total for the integration (its row's first number), read by an admin
/// who signs in at the test clock's time.
async fn overview_total(app: &TestApp, api_id: &str) -> Option<u64> {
    let admin = app.admin().await;
    let html = app
        .get_with(&admin, "/admin/api")
        .await
        .text()
        .await
        .unwrap();
    let at = html.find(api_id)?;
    let row = &html[at..at + html[at..].find("</tr>").unwrap()];
    let cell = row.find("<td>").unwrap() + 4;
    Some(
        row[cell..cell + row[cell..].find('<').unwrap()]
            .parse()
            .unwrap(),
    )
}

async fn raw_rows(app: &TestApp, api_id: &str) -> i64 {
    use concat_portal::db::schema::api_usage as u;
    use diesel::prelude::*;
    let api_id = api_id.to_string();
    db::run(&app.pool, move |c| {
        Ok(u::table
            .filter(u::api_id.eq(api_id))
            .count()
            .get_result::<i64>(c)?)
    })
    .await
    .unwrap()
}

async fn usage_rollups_serve_the_pages_and_outlive_the_raw_counters(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = app.api_fixture(&["events_read"]).await;
    let day1 = app.clock.now();

    // Day 1: 3 requests; no totals computed yet: summed from the daily rollups.
    me(&app, &f, 3).await;
    app.flush_usage().await;
    assert_eq!(overview_total(&app, &f.dev.api_id).await, Some(3));
    // The job computes the totals up to yesterday; today's rows are added on reading.
    app.run_jobs(day1).await;
    assert_eq!(overview_total(&app, &f.dev.api_id).await, Some(3));

    // Day 2, before the job ran today: the totals are a day behind, corrected by the days
    // between.
    app.clock.set(day1 + Duration::days(1));
    me(&app, &f, 2).await;
    app.flush_usage().await;
    assert_eq!(overview_total(&app, &f.dev.api_id).await, Some(5));
    let at = app.clock.now();
    let reports = app.run_jobs(at).await;
    let retention = reports.iter().find(|r| r.job == "usage-retention").unwrap();
    assert_eq!(retention.counts.get("usage totals refreshed"), Some(&1));
    assert_eq!(overview_total(&app, &f.dev.api_id).await, Some(5));

    // A request of day 1 written late (in the flush after midnight) lands in the totals too.
    app.clock.set(day1);
    me(&app, &f, 1).await;
    app.clock.set(day1 + Duration::days(1));
    app.flush_usage().await;
    assert_eq!(overview_total(&app, &f.dev.api_id).await, Some(6));

    // The developer's page reads the same rollups, per day.
    app.login_with(&f.dev.client, "dana@ticketly.example", PASSWORD)
        .await;
    let page = format!("/developer/integrations/{}/usage", f.dev.integration_id);
    let html = app
        .get_with(&f.dev.client, &page)
        .await
        .text()
        .await
        .unwrap();
    let d1 = day1.format("%Y-%m-%d");
    let d2 = (day1 + Duration::days(1)).format("%Y-%m-%d");
    assert!(html.contains(&format!("{d1} · 2xx: 4")), "{html}");
    assert!(html.contains(&format!("{d2} · 2xx: 2")), "{html}");

    // 31 days on, day 1 and 2 have left the 30-day window.
    let later = day1 + Duration::days(31);
    app.run_jobs(later).await;
    assert_eq!(overview_total(&app, &f.dev.api_id).await, None);

    // After the retention period the raw counters go, a day per step; the rollups stay.
    assert!(raw_rows(&app, &f.dev.api_id).await > 0);
    let reports = app.run_jobs(day1 + Duration::days(402)).await;
    let retention = reports.iter().find(|r| r.job == "usage-retention").unwrap();
    assert_eq!(
        retention.counts.get("usage detail days deleted"),
        Some(&2),
        "{retention:?}"
    );
    assert_eq!(raw_rows(&app, &f.dev.api_id).await, 0);
    let api_id = f.dev.api_id.clone();
    let from = day1.date_naive();
    let kept = db::run(&app.pool, move |c| {
        Ok(api_usage::daily_rollups_for(c, &api_id, from)?)
    })
    .await
    .unwrap();
    let per_day: Vec<(String, i64)> = kept
        .iter()
        .map(|(d, _, r)| (d.clone(), r.requests))
        .collect();
    assert_eq!(per_day, vec![(d1.to_string(), 4), (d2.to_string(), 2)]);
    // And a rebuild from the raw counters keeps the days whose raw counters are gone.
    let api_id = f.dev.api_id.clone();
    let rebuilt = db::run(&app.pool, move |c| {
        db::write_tx(c, api_usage::rebuild_rollups)?;
        Ok(api_usage::daily_rollups_for(c, &api_id, from)?)
    })
    .await
    .unwrap();
    assert_eq!(rebuilt.len(), kept.len());
    // The inactivity job's warnings of the year that passed.
    app.deliver_emails().await;
}

/// The admin's integrations list: 50 a page, newest first, by position (not `OFFSET`), and a
/// search by name, company or API ID.
async fn the_integrations_list_pages_by_position_and_searches(backend: Backend) {
    use concat_portal::db::models::{developer_accounts, integrations};
    use concat_portal::domain::ApiId;
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let now = app.clock.now().naive_utc();
    // 55 integrations of one account, created a second apart (the 7th and the 8th at the same
    // second: the id breaks the tie).
    let api_ids = db::run(&app.pool, move |c| {
        db::write_tx(c, |c| {
            let account = db::new_id();
            developer_accounts::insert(c, &account, "Bulk Co", "https://bulk.example/", now)?;
            let mut ids = Vec::new();
            for n in 0..55i64 {
                let api_id = ApiId::generate();
                let at = now - Duration::seconds(if n >= 7 { n - 1 } else { n });
                integrations::insert(
                    c,
                    &integrations::NewIntegration {
                        id: &db::new_id(),
                        account_id: &account,
                        api_id: api_id.as_str(),
                        display_name: &format!("Bulk App {n:02}"),
                        description: "Paging",
                        status: integrations::IntegrationStatus::Active,
                        created_at: at,
                        approved_by_user_id: None,
                        activity_at: at,
                    },
                )?;
                ids.push(api_id.as_str().to_string());
            }
            Ok::<_, anyhow::Error>(ids)
        })
    })
    .await
    .unwrap();
    let names = |html: &str| -> Vec<String> {
        html.match_indices("Bulk Co · Bulk App ")
            .map(|(at, m)| html[at + m.len()..at + m.len() + 2].to_string())
            .collect()
    };
    let link = rel_link;
    let page1 = app.get_html_with(&admin, "/admin/integrations").await;
    let first = names(&page1);
    assert_eq!(first.len(), 50);
    assert_eq!(first[0], "00", "newest first");
    let older = link(&page1, "next").expect("an Older link");
    let page2 = app.get_html_with(&admin, &older).await;
    let second = names(&page2);
    assert_eq!(second.len(), 5);
    let mut all: Vec<String> = first.iter().chain(&second).cloned().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 55, "every integration once, the tied ones too");
    assert_eq!(link(&page2, "next"), None);
    let back = app
        .get_html_with(&admin, &link(&page2, "prev").expect("a Newer link"))
        .await;
    assert_eq!(names(&back), first);

    // Search: by name fragment (any case), by API ID; nothing found says so.
    let found = app
        .get_html_with(&admin, "/admin/integrations?q=bulk+app+4")
        .await;
    assert_eq!(names(&found).len(), 10, "40 to 49");
    assert_eq!(link(&found, "next"), None);
    let by_id = app
        .get_html_with(&admin, &format!("/admin/integrations?q={}", api_ids[12]))
        .await;
    assert_eq!(names(&by_id), vec!["12".to_string()]);
    let none = app
        .get_html_with(&admin, "/admin/integrations?q=nothing+like+it")
        .await;
    assert!(none.contains("No integration matches."));
    assert_eq!(
        app.get_with(&admin, "/admin/integrations?older=bogus")
            .await
            .status(),
        400
    );
}

both_backends!(
    usage_rollups_serve_the_pages_and_outlive_the_raw_counters,
    the_integrations_list_pages_by_position_and_searches,
);
