//! Per-account API rate limits: a ConCat admin sets an account's own limit, or clears it to
//! fall back to `PORTAL_API_RATE_LIMIT`. The caller drops the account's cached credentials
//! after the commit, so the API applies the new limit at once.

use crate::context::Context;
use crate::db::models::developer_accounts as accounts;
use crate::db::DbConn;

/// Sets (`Some`) or clears (`None`) the account's limit in requests per minute; returns the
/// account's company name, or `None` when there is no such account.
pub fn set_account_limit(
    c: &mut DbConn,
    ctx: &Context,
    account_id: &str,
    limit: Option<i32>,
) -> anyhow::Result<Option<String>> {
    let Some(account) = accounts::find(c, account_id)? else {
        return Ok(None);
    };
    accounts::set_rate_limit(c, account_id, limit)?;
    ctx.audit("account.rate_limit_changed")
        .target("developer_account", account_id)
        .details(serde_json::json!({ "from": account.api_rate_limit, "to": limit }))
        .record(c, ctx.now)?;
    Ok(Some(account.company_name))
}
