//! Reading the test's database directly (and seeding it), for what no page shows.

use std::collections::HashMap;

use concat_portal::clock::Clock;
use concat_portal::db;

use super::harness::TestApp;

impl TestApp {
    pub async fn audit_actions(&self) -> Vec<String> {
        use concat_portal::db::models::audit;
        self.background.idle().await;
        db::run(&self.pool, |c| Ok(audit::recent(c, 1000)?))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.action)
            .collect()
    }

    pub async fn user_id(&self, email: &str) -> String {
        use concat_portal::db::models::users;
        let e = email.to_lowercase();
        db::run(&self.pool, move |c| Ok(users::find_by_email(c, &e)?))
            .await
            .unwrap()
            .expect("user exists")
            .id
    }

    pub async fn request_id_for(&self, email: &str) -> String {
        use concat_portal::db::schema::access_requests as r;
        use diesel::prelude::*;
        let e = email.to_lowercase();
        db::run(&self.pool, move |c| {
            Ok(r::table
                .filter(r::contact_email_normalized.eq(e))
                .order((r::created_at.desc(), r::id.desc()))
                .select(r::id)
                .first::<String>(c)?)
        })
        .await
        .unwrap()
    }

    pub async fn integration_of(&self, api_id: &str) -> (String, String) {
        use concat_portal::db::models::integrations;
        let a = api_id.to_string();
        let i = db::run(&self.pool, move |c| {
            Ok(integrations::find_by_api_id(c, &a)?)
        })
        .await
        .unwrap()
        .expect("integration");
        (i.id, i.account_id)
    }

    /// Adds `n` events to the organization directly in the database (seed data), starting a
    /// day apart from 2027-01-01; returns their public ids in start order.
    pub async fn seed_events(&self, org_public_id: &str, n: usize) -> Vec<String> {
        use concat_portal::db::models::{events, organizations};
        use concat_portal::domain::new_event_public_id;
        let org = org_public_id.to_string();
        let now = self.clock.now_naive();
        db::run(&self.pool, move |c| {
            let o = organizations::find_by_public_id(c, &org)?.expect("org");
            let start = chrono::NaiveDate::from_ymd_opt(2027, 1, 1)
                .unwrap()
                .and_hms_opt(18, 0, 0)
                .unwrap();
            let mut ids = Vec::new();
            for k in 0..n {
                let id = new_event_public_id();
                let starts_at = start + chrono::Duration::days(k as i64);
                events::insert(
                    c,
                    &db::new_id(),
                    &id,
                    &o.id,
                    &events::EventFields {
                        name: &format!("Event {k}"),
                        starts_at,
                        ends_at: starts_at + chrono::Duration::hours(4),
                        time_zone: "Europe/Berlin",
                        venue: "Hall",
                        status: concat_portal::domain::EventStatus::Published,
                    },
                    now,
                )?;
                ids.push(id);
            }
            Ok(ids)
        })
        .await
        .unwrap()
    }

    /// Rows of `api_usage`: (api_id, organization_id, event_id, endpoint, status) → requests.
    pub async fn usage_rows(&self) -> HashMap<(String, String, String, String, i32), i64> {
        use concat_portal::db::schema::api_usage as u;
        use diesel::prelude::*;
        db::run(&self.pool, |c| {
            Ok(u::table
                .select((
                    u::api_id,
                    u::organization_id,
                    u::event_id,
                    u::endpoint,
                    u::status,
                    u::requests,
                ))
                .load::<(String, String, String, String, i32, i64)>(c)?)
        })
        .await
        .unwrap()
        .into_iter()
        .fold(HashMap::new(), |mut m, (a, o, e, p, s, n)| {
            *m.entry((a, o, e, p, s)).or_default() += n;
            m
        })
    }

    /// Unverified attempts per (API ID named, endpoint, status).
    pub async fn unverified_rows(&self) -> HashMap<(String, String, i32), i64> {
        use concat_portal::db::schema::api_unverified_usage as v;
        use diesel::prelude::*;
        db::run(&self.pool, |c| {
            Ok(v::table
                .select((v::api_id, v::endpoint, v::status, v::requests))
                .load::<(String, String, i32, i64)>(c)?)
        })
        .await
        .unwrap()
        .into_iter()
        .fold(HashMap::new(), |mut m, (a, e, s, n)| {
            *m.entry((a, e, s)).or_default() += n;
            m
        })
    }

    /// Usage per (API ID, status): (requests, of them with `_apikey`).
    pub async fn query_key_rows(&self) -> HashMap<(String, i32), (i64, i64)> {
        use concat_portal::db::schema::api_usage as u;
        use diesel::prelude::*;
        db::run(&self.pool, |c| {
            Ok(u::table
                .select((u::api_id, u::status, u::requests, u::query_key_requests))
                .load::<(String, i32, i64, i64)>(c)?)
        })
        .await
        .unwrap()
        .into_iter()
        .fold(HashMap::new(), |mut m, (a, s, n, q)| {
            let e: &mut (i64, i64) = m.entry((a, s)).or_default();
            e.0 += n;
            e.1 += q;
            m
        })
    }

    /// Every row of every table as text, sorted: equal snapshots mean an unchanged database.
    pub async fn db_snapshot(&self) -> Vec<String> {
        use diesel::sql_types::Text;
        use diesel::RunQueryDsl;
        db::run(&self.pool, |c| {
            let postgres = concat_portal::db::dialect::is_postgres(c);
            let tables: Vec<SnapshotLine> = if postgres {
                diesel::sql_query(
                    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
                )
                .load(c)?
            } else {
                diesel::sql_query(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1",
                )
                .load(c)?
            };
            let mut lines = Vec::new();
            for t in tables {
                let columns: Vec<SnapshotLine> = if postgres {
                    diesel::sql_query("SELECT column_name::text AS name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position")
                        .bind::<Text, _>(&t.name)
                        .load(c)?
                } else {
                    diesel::sql_query("SELECT name FROM pragma_table_info(?)")
                        .bind::<Text, _>(&t.name)
                        .load(c)?
                };
                let row = columns
                    .iter()
                    .map(|col| format!("COALESCE(CAST(\"{}\" AS TEXT), '∅')", col.name))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                let rows: Vec<SnapshotLine> =
                    diesel::sql_query(format!("SELECT {row} AS name FROM \"{}\"", t.name)).load(c)?;
                lines.extend(rows.into_iter().map(|r| format!("{}: {}", t.name, r.name)));
            }
            lines.sort();
            Ok(lines)
        })
        .await
        .unwrap()
    }
}

#[derive(diesel::QueryableByName)]
struct SnapshotLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}
