//! Seeds a portal database for `scripts/bench-api.sh` and `scripts/api-conformance.sh`: one
//! approved integration with a secret, one organization that authorized it (with `SCOPES`,
//! default `events:read`) and 20 events. Prints shell assignments:
//! `API_ID=… API_SECRET=… ORG_ID=… EVENT_ID=…` (the first event).
//! Usage: `seed_bench <DATABASE_URL> [SCOPES]`, e.g. `seed_bench sqlite://x.db "events:read events:write"`.

use anyhow::Context;
use chrono::Utc;
use concat_portal::auth::{accounts, api_credentials};
use concat_portal::db::models::{
    authorizations, developer_accounts, events, integrations, organizations,
};
use concat_portal::db::{self, new_id};
use concat_portal::domain::{
    new_event_public_id, new_org_public_id, ApiId, DisplayName, EmailAddress,
};
use concat_portal::settings::DatabaseSettings;

fn main() -> anyhow::Result<()> {
    let url = std::env::args()
        .nth(1)
        .context("usage: seed_bench <DATABASE_URL> [SCOPES]")?;
    let scopes = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "events:read".to_string());
    let pool =
        db::build_pool(&DatabaseSettings::parse(&url, 2).map_err(|e| anyhow::anyhow!("{e:?}"))?)?;
    let mut c = pool.get()?;
    db::run_migrations(&mut c)?;
    let now = Utc::now().naive_utc();
    db::write_tx(&mut c, |c| {
        let user = accounts::insert_user(
            c,
            &EmailAddress::parse("bench@concat.example").map_err(anyhow::Error::msg)?,
            &DisplayName::parse("Bench").map_err(anyhow::Error::msg)?,
            None,
            false,
            now,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let account = new_id();
        developer_accounts::insert(c, &account, "Bench Co", "https://bench.example/", now)?;
        let integration_id = new_id();
        let api_id = ApiId::generate();
        integrations::insert(
            c,
            &integrations::NewIntegration {
                id: &integration_id,
                account_id: &account,
                api_id: api_id.as_str(),
                display_name: "Bench App",
                description: "Load test",
                status: integrations::IntegrationStatus::Active,
                created_at: now,
                approved_by_user_id: None,
                activity_at: now,
            },
        )?;
        let integration = integrations::find(c, &integration_id)?.context("integration")?;
        let secret = api_credentials::issue(c, &integration, None, now)?;
        let org = new_id();
        let org_public = new_org_public_id();
        organizations::insert(c, &org, &org_public, "Bench Events", now)?;
        authorizations::insert(
            c,
            &new_id(),
            &org,
            &integration_id,
            &authorizations::Access {
                scopes: scopes.clone(),
                include_drafts: false,
            },
            &user.id,
            authorizations::Via::Support,
            now,
        )?;
        let mut first_event = None;
        for k in 0..20 {
            let starts_at = now + chrono::Duration::days(k);
            let public_id = new_event_public_id();
            first_event.get_or_insert_with(|| public_id.clone());
            events::insert(
                c,
                &new_id(),
                &public_id,
                &org,
                &events::EventFields {
                    name: &format!("Bench event {k}"),
                    starts_at,
                    ends_at: starts_at + chrono::Duration::hours(3),
                    time_zone: "Europe/Berlin",
                    venue: "Hall 1",
                    status: concat_portal::domain::EventStatus::Published,
                },
                now,
            )?;
        }
        println!("API_ID={}", api_id.as_str());
        println!("API_SECRET={}", secret.expose());
        println!("ORG_ID={org_public}");
        println!("EVENT_ID={}", first_event.unwrap_or_default());
        Ok::<_, anyhow::Error>(())
    })
}
