//! Thirty days after a revocation the portal folds its own per-organization usage detail for
//! that integration (the raw counters and the daily rollups) into totals without the
//! organization, so ConCat keeps no more than it needs.

use super::{Job, JobContext, Planned};
use crate::db::models::api_usage;
use crate::db::models::authorizations::{self as auths, Authorization};
use crate::db::models::integrations::Integration;
use crate::db::DbConn;

pub struct UsagePurge;

impl Job for UsagePurge {
    const NAME: &'static str = "usage-purge";
    type Step = (Authorization, Integration);

    fn plan(conn: &mut DbConn, ctx: &JobContext<'_>) -> anyhow::Result<Vec<Planned<Self::Step>>> {
        Ok(auths::purge_due(conn, ctx.now, super::PLAN_LIMIT)?
            .into_iter()
            .map(|(a, i)| Planned {
                kind: "usage details purged",
                description: format!(
                    "fold the usage detail of {} ({}) for organization {} into totals (revoked {}) [authorization {}]",
                    i.display_name,
                    i.api_id,
                    a.organization_id,
                    a.revoked_at.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default(),
                    a.id
                ),
                step: (a, i),
            })
            .collect())
    }

    fn apply(conn: &mut DbConn, ctx: &JobContext<'_>, (a, i): &Self::Step) -> anyhow::Result<bool> {
        if !auths::mark_usage_purged(conn, &a.id, ctx.now)? {
            return Ok(false);
        }
        // If the organization authorized the integration again, the usage from then on belongs
        // to the newer authorization and waits for its own revocation.
        let keep_from = auths::first_after(conn, &a.organization_id, &i.id, a.authorized_at)?
            .map(|again| again.date());
        api_usage::fold_organization(conn, &i.api_id, &a.organization_id, keep_from)?;
        api_usage::fold_organization_rollups(conn, &i.api_id, &a.organization_id, keep_from)?;
        Ok(true)
    }
}
