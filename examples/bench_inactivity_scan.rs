//! Benchmark (not a test) of the inactivity job's scan on a large table. Seeds N integrations
//! (default 1,000,000) into the given database: 99 % used within the last 300 days, 1 % unused
//! for 335–400 days (due: warnings or revocation). Then measures the scan that plans the job
//! (`integrations::inactivity_due`, median of 5), shows the query plan, and times a dry run and a
//! real run of the job.
//!
//! Usage: `cargo run --release --example bench_inactivity_scan -- <DATABASE_URL> [N]`
//! (a fresh SQLite file or an empty PostgreSQL database; see docs/PERFORMANCE.md).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::{Duration, Utc};
use concat_portal::db::models::{developer_accounts, integrations};
use concat_portal::db::{self, new_id, DbConn};
use concat_portal::jobs::{self, inactivity::Inactivity, JobContext, Mode, Trigger, PLAN_LIMIT};
use concat_portal::settings::{DatabaseSettings, Settings};
use diesel::RunQueryDsl;

fn explain(c: &mut DbConn, cutoff: &str) -> anyhow::Result<Vec<String>> {
    let query = format!("SELECT id FROM integrations WHERE status = 'active' AND inactivity_exempt = {} AND activity_at <= '{cutoff}' ORDER BY activity_at, id LIMIT {PLAN_LIMIT}", if matches!(c, DbConn::Postgres(_)) { "false" } else { "0" });
    Ok(match c {
        DbConn::Sqlite(s) => {
            // EXPLAIN QUERY PLAN cannot be a subquery: read its rows directly.
            #[derive(diesel::QueryableByName)]
            struct Row {
                #[diesel(sql_type = diesel::sql_types::Text)]
                detail: String,
            }
            diesel::sql_query(format!("EXPLAIN QUERY PLAN {query}"))
                .load::<Row>(s)?
                .into_iter()
                .map(|r| r.detail)
                .collect()
        }
        DbConn::Postgres(p) => {
            #[derive(diesel::QueryableByName)]
            struct Row {
                #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
                plan: String,
            }
            diesel::sql_query(format!("EXPLAIN {query}"))
                .load::<Row>(p)?
                .into_iter()
                .map(|r| r.plan)
                .collect()
        }
    })
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .context("usage: bench_inactivity_scan <DATABASE_URL> [N]")?;
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let db_settings = DatabaseSettings::parse(&url, 2).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut c = db::establish(&db_settings)?;
    db::run_migrations(&mut c)?;
    let now = Utc::now().naive_utc();

    let seeding = Instant::now();
    let account = new_id();
    developer_accounts::insert(&mut c, &account, "Bench Co", "https://bench.example/", now)?;
    let ids: Vec<(String, String)> = (0..n)
        .map(|_| (new_id(), format!("cc_id_bench{:020}", rand_u64())))
        .collect();
    let batch = 3000;
    db::write_tx(&mut c, |c| {
        for (chunk_no, chunk) in ids.chunks(batch).enumerate() {
            let rows: Vec<integrations::NewIntegration<'_>> = chunk
                .iter()
                .enumerate()
                .map(|(k, (id, api_id))| {
                    let i = chunk_no * batch + k;
                    // Every 100th integration is due (335–400 days unused); the rest were used
                    // within the last 300 days.
                    let days = if i % 100 == 0 {
                        335 + (i / 100) % 66
                    } else {
                        i % 300
                    };
                    integrations::NewIntegration {
                        id,
                        account_id: &account,
                        api_id,
                        display_name: "Bench App",
                        description: "Scan benchmark",
                        status: integrations::IntegrationStatus::Active,
                        created_at: now - Duration::days(500),
                        approved_by_user_id: None,
                        activity_at: now
                            - Duration::days(days as i64)
                            - Duration::seconds((i % 86_400) as i64),
                    }
                })
                .collect();
            // Batch inserts have no `MultiBackend` form: one statement per backend.
            let table = concat_portal::db::schema::integrations::table;
            match c {
                DbConn::Sqlite(s) => diesel::insert_into(table).values(&rows).execute(s)?,
                DbConn::Postgres(p) => diesel::insert_into(table).values(&rows).execute(p)?,
            };
        }
        Ok::<_, anyhow::Error>(())
    })?;
    println!(
        "seeded {n} integrations in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    if let DbConn::Postgres(p) = &mut c {
        diesel::sql_query("ANALYZE integrations").execute(p)?;
    }

    let mut times = Vec::new();
    let mut due = 0;
    for _ in 0..5 {
        let t = Instant::now();
        due = integrations::inactivity_due(&mut c, now, PLAN_LIMIT)?.len();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "scan: {due} due rows read, median {:.1} ms (min {:.1}, max {:.1})",
        times[2], times[0], times[4]
    );
    let cutoff = (now - Duration::days(335))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    for line in explain(&mut c, &cutoff)? {
        println!("plan: {line}");
    }

    let settings = Arc::new(Settings::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.clone()),
        _ => None,
    })?);
    let ctx = JobContext {
        settings: &settings,
        now,
        mail_at: now,
        api: None,
    };
    let t = Instant::now();
    let dry = jobs::run_job::<Inactivity>(&mut c, &ctx, Mode::DryRun, Trigger::Command);
    println!(
        "dry run: {} in {:.1} ms",
        dry.summary(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let run = jobs::run_job::<Inactivity>(&mut c, &ctx, Mode::Apply, Trigger::Command);
    println!(
        "run: {} in {:.1} ms",
        run.summary(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let again = jobs::run_job::<Inactivity>(&mut c, &ctx, Mode::Apply, Trigger::Command);
    println!(
        "second run: {} in {:.1} ms",
        again.summary(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}

fn rand_u64() -> u64 {
    use rand::RngCore;
    rand::rng().next_u64()
}
