//! `bench_data seed`: fills an empty database at production size. The shape at scale 1.0
//! (every count is multiplied by `scale`; per-entity ratios and the year stay fixed):
//!
//! - users: 5 ConCat admins (the first is the benchmark's, with TOTP enrolled through
//!   `mfa::enable_totp`), one owner per developer account, a member in every 4th account, one
//!   admin per organization; 1 % suspended. All share one argon2 hash of `PASSWORD`.
//! - 2,000 developer accounts (1 % suspended) and 10,000 integrations: 20 in the benchmark
//!   developer's account, the rest spread at random (about 5 per account). 93 % active (used
//!   within the last hours), 3 % inactive (unused for over a year, deactivated), 4 % retired. One API secret each (active while the integration is; revoked otherwise), an
//!   older expired one for every 5th integration.
//! - 1,000 organizations, 20 events each (70 % published, 20 % draft, 10 % cancelled, from 300
//!   days ago to 180 days ahead; a quarter last changed through the API).
//! - 3 authorizations per integration (30,000; each organization about 30), by distinct
//!   organizations. Revoked: all of a retired integration's (at retirement), 12 % of the others
//!   (at a random time since the grant), with their deletion duties in consistent states
//!   (reminder stages, confirmed, overdue; usage marked purged 30 days after revocation).
//! - `api_usage`, day by day for 365 days (today included), per authorization from its grant
//!   (or a year ago) to its revocation, none for inactive integrations or purged
//!   authorizations: the events list 200 every day, one event 200 every 2nd day, PATCH event
//!   200 every 5th, event 404 every 7th, events list 429 every 11th, events list 500 every
//!   60th day (about 2.0 rows per authorization-day), plus `GET /api/v1/me` 200 every 3rd day
//!   per used integration, and 2 anonymous rows per day: 13.4 million rows at scale 1.
//!   `api_unverified_usage`: 401s naming every 97th integration each day (37,600 rows).
//! - 10,000,000 `audit_log` rows over the same 365 days (evenly spread, today up to now):
//!   sign-ins, sign-outs, failed sign-ins, API and page event changes, secrets, grants …, by
//!   the seeded users and integrations, with targets that exist.
//! - 100,000 access requests over the year: 10 % unconfirmed; confirmed ones younger than 14
//!   days open (80 % pending, 20 % information requested, with messages), older ones decided
//!   (15 % approved, 85 % rejected); 20 % from existing accounts. Two sent emails each in the
//!   outbox (0.1 % failed), i.e. 200,000 outbox rows.
//! - Invitations (pending and accepted), pending reactivation requests for a fifth of the
//!   inactive integrations, a year of hourly job runs. Then the usage rollups are rebuilt from
//!   the raw rows (`api_usage::rebuild_rollups`), and the scheduled jobs run once, as the
//!   scheduler's first run would. PostgreSQL ends with `VACUUM ANALYZE` (what autovacuum would
//!   do after a bulk load); SQLite is left as the portal leaves it (no `ANALYZE`).
//!
//! Bulk rows are generated in SQL (`INSERT … SELECT` per day from small helper tables, `bulk`)
//! or sent as multi-row `INSERT`s (`tables`); SQLite seeds with `journal_mode=OFF` and
//! `synchronous=OFF`, PostgreSQL with `synchronous_commit=off`.

mod bulk;
mod model;
mod sql;
mod tables;

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{Duration, Timelike, Utc};
use concat_portal::audit::Actor;
use concat_portal::auth::{mfa, password};
use concat_portal::context::{Context, RequestMeta};
use concat_portal::db::models::{api_usage, users};
use concat_portal::db::{self};
use concat_portal::domain::NewPassword;
use concat_portal::jobs::{self, JobContext, Mode, Trigger};
use concat_portal::settings::{DatabaseSettings, Settings};
use diesel::{QueryDsl, RunQueryDsl};

use model::Status;
use sql::exec;

/// Every seeded user's password.
pub const PASSWORD: &str = "bench-data-Pa55word-7Qx";

/// The counts at scale 1.0.
pub struct Shape {
    pub admins: usize,
    pub accounts: usize,
    pub integrations: usize,
    pub bench_integrations: usize,
    pub orgs: usize,
    pub events_per_org: usize,
    pub auths_per_integration: usize,
    pub days: i64,
    pub audit_rows: usize,
    pub access_requests: usize,
}

impl Shape {
    fn new(scale: f64) -> Self {
        let n = |base: usize, min: usize| ((base as f64 * scale).round() as usize).max(min);
        Self {
            admins: 5,
            accounts: n(2_000, 3),
            integrations: n(10_000, 30),
            bench_integrations: 20,
            orgs: n(1_000, 4),
            events_per_org: 20,
            auths_per_integration: 3,
            days: 365,
            audit_rows: n(10_000_000, 1_000),
            access_requests: n(100_000, 100),
        }
    }
}

/// What the `time` subcommand needs, printed as shell assignments.
#[derive(Default)]
struct Printed {
    lines: Vec<(String, String)>,
}

impl Printed {
    fn set(&mut self, k: &str, v: impl Into<String>) {
        self.lines.push((k.to_string(), v.into()));
    }
}

pub fn run(url: &str, scale: f64) -> anyhow::Result<()> {
    let started = Instant::now();
    let shape = Shape::new(scale);
    let db_settings = DatabaseSettings::parse(url, 2).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut c = db::establish(&db_settings)?;
    db::run_migrations(&mut c)?;
    let pg = db::dialect::is_postgres(&c);
    let empty: i64 = concat_portal::db::schema::users::table
        .count()
        .get_result(&mut c)?;
    if empty != 0 {
        anyhow::bail!("the database is not empty: seed a fresh one");
    }
    if pg {
        exec(&mut c, "SET synchronous_commit = off")?;
    } else {
        exec(
            &mut c,
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; \
             PRAGMA cache_size = -1000000; PRAGMA temp_store = MEMORY;",
        )?;
    }
    let now = Utc::now()
        .naive_utc()
        .with_nanosecond(0)
        .expect("0 is a valid nanosecond");
    let mut rng = sql::Rng(0x5EED_DA7A ^ (scale * 1000.0) as u64);
    let mut printed = Printed::default();

    // The portal's secret key (cookies, and the sealing key of TOTP secrets).
    let mut key = vec![0u8; 64];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    let sealer = mfa::Sealer::new(&key);
    eprintln!(
        "seeding {} at scale {scale} ({} integrations, {} audit rows)",
        if pg { "PostgreSQL" } else { "SQLite" },
        shape.integrations,
        shape.audit_rows
    );
    let hash = password::hash_now(&NewPassword::parse(PASSWORD).map_err(anyhow::Error::msg)?)?;
    let mut world = model::generate(&shape, now, &mut rng);
    eprintln!(
        "generated {} users, {} integrations, {} authorizations in memory",
        world.users.len(),
        world.integs.len(),
        world.auths.len()
    );
    let t = Instant::now();
    tables::entities(&mut c, &shape, &mut world, &hash, now)?;
    bulk::usage(&mut c, &shape, &world, now)?;
    bulk::audit(&mut c, &shape, &world, now, pg)?;
    let bench_request = tables::requests(&mut c, &shape, &world, now)?;
    tables::rest(&mut c, &shape, &world, now)?;
    eprintln!("rows written in {:.1} s", t.elapsed().as_secs_f64());
    let model::World {
        users: people,
        accounts,
        orgs,
        integs,
        auths,
        bench_org_admin,
    } = &world;
    let admin_id = people[0].id.clone();

    // ---------------------------------------------------------------- derived state
    let t_rollups = Instant::now();
    db::write_tx(&mut c, api_usage::rebuild_rollups)?;
    eprintln!(
        "  usage rollups rebuilt in {:.1} s",
        t_rollups.elapsed().as_secs_f64()
    );

    let secret_hex = hex::encode(&key);
    let settings = Settings::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.to_string()),
        "PORTAL_SECRET_KEY" => Some(secret_hex.clone()),
        _ => None,
    })?;
    // The admin's authenticator app, enrolled as the enrolment page does it, two minutes ago:
    // the step its code used is spent, and the benchmark's sign-in uses a later one.
    let totp_secret = mfa::new_totp_secret();
    let admin = users::find(&mut c, &admin_id)?.context("the admin")?;
    let enrolled_at = now - Duration::minutes(2);
    let code = mfa::totp_code(&totp_secret, enrolled_at)?;
    let meta = RequestMeta {
        client_ip: "127.0.0.1".into(),
        request_id: "bench-data".into(),
    };
    let ctx = Context::new(
        enrolled_at,
        Actor::User {
            id: &admin.id,
            email: &admin.email,
        },
        &meta,
    );
    match db::write_tx(&mut c, |c| {
        mfa::enable_totp(c, &ctx, &settings, &sealer, &admin, &totp_secret, &code)
    })? {
        mfa::Added::Done { .. } => {}
        mfa::Added::WrongCode => anyhow::bail!("enrolling the admin's TOTP: the code was refused"),
    }

    let t_jobs = Instant::now();
    let job_ctx = JobContext {
        settings: &settings,
        now,
        mail_at: now,
        api: None,
    };
    for report in jobs::run_all(&mut c, &job_ctx, Mode::Apply, Trigger::Command) {
        eprintln!("  job: {}", report.summary());
    }
    eprintln!("  jobs ran once in {:.1} s", t_jobs.elapsed().as_secs_f64());

    let t_final = Instant::now();
    if pg {
        exec(&mut c, "VACUUM ANALYZE")?;
    } else {
        // Back to the portal's journal: a fresh connection sets WAL (this one has statements
        // cached, which a change of journal mode does not allow).
        drop(c);
        c = db::establish(&db_settings)?;
    }
    eprintln!(
        "  {} in {:.1} s",
        if pg { "VACUUM ANALYZE" } else { "WAL on" },
        t_final.elapsed().as_secs_f64()
    );

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut counts = String::new();
    for table in [
        "users",
        "developer_accounts",
        "integrations",
        "api_secrets",
        "organizations",
        "events",
        "authorizations",
        "api_usage",
        "api_unverified_usage",
        "audit_log",
        "access_requests",
        "access_request_messages",
        "outbox",
        "invitations",
        "reactivation_requests",
        "job_runs",
    ] {
        let n = diesel::sql_query(format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table}"))
            .get_result::<Count>(&mut c)?
            .n;
        let _ = write!(counts, "{table} {n}, ");
    }
    eprintln!("rows: {}", counts.trim_end_matches(", "));
    eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());

    let bench_integ = &integs[0];
    let inactive = accounts[0]
        .integrations
        .iter()
        .find(|i| integs[**i].status == Status::Inactive)
        .context("an inactive integration in the benchmark account")?;
    let bench_org = &orgs[0];
    let org_auth = bench_org
        .auths
        .iter()
        .map(|a| &auths[*a])
        .find(|a| a.revoked_at.is_none() && integs[a.integ].status == Status::Active)
        .context("an active authorization of the benchmark organization")?;
    let suspended = accounts
        .iter()
        .find(|a| a.suspended)
        .unwrap_or(&accounts[accounts.len() - 1]);
    printed.set("PORTAL_SECRET_KEY", secret_hex);
    printed.set("BENCH_PASSWORD", PASSWORD);
    printed.set("BENCH_ADMIN_EMAIL", people[0].email.clone());
    printed.set(
        "BENCH_ADMIN_TOTP",
        match totp_rs::Secret::Raw(totp_secret).to_encoded() {
            totp_rs::Secret::Encoded(s) => s,
            totp_rs::Secret::Raw(_) => unreachable!("to_encoded encodes"),
        },
    );
    printed.set("BENCH_DEV_EMAIL", people[accounts[0].owner].email.clone());
    printed.set("BENCH_ORG_EMAIL", people[*bench_org_admin].email.clone());
    printed.set("BENCH_ACCOUNT", accounts[0].id.clone());
    printed.set("BENCH_SUSPENDED_ACCOUNT", suspended.id.clone());
    printed.set("BENCH_INTEGRATION", bench_integ.id.clone());
    printed.set("BENCH_SECRET", bench_integ.secret_id.clone());
    printed.set("BENCH_INACTIVE_INTEGRATION", integs[*inactive].id.clone());
    printed.set("BENCH_ORG", bench_org.public_id.clone());
    printed.set("BENCH_ORG_AUTH", org_auth.id.clone());
    printed.set("BENCH_EVENT", bench_org.first_event.clone());
    printed.set(
        "BENCH_REQUEST",
        bench_request.context("a pending access request")?,
    );
    printed.set("BENCH_USER", people[accounts[1].owner].id.clone());
    for (k, v) in &printed.lines {
        println!("{k}={v}");
    }
    Ok(())
}
