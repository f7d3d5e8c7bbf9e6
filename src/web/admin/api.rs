//! Admin: API usage across accounts (top integrations, error rates, failed authentications,
//! unverified attempts that named an API ID without its secret) and per-account rate limits.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db;
use crate::db::models::developer_accounts::{self as accounts, DeveloperAccount};
use crate::db::models::{api_usage, integrations};
use crate::errors::AppError;
use crate::rate_limits;
use crate::web::charts;
use crate::web::session::FlashLevel;
use crate::web::session::{AdminUser, CsrfForm};
use crate::web::shared::USAGE_DAYS;
use crate::web::{redirect, render, PageContext};

/// Highest per-account limit an admin can set (requests per minute).
const MAX_LIMIT: i32 = 1_000_000;

pub struct TopRow {
    pub api_id: String,
    pub name: String,
    pub total: u64,
    pub errors: u64,
    pub failed_auth: u64,
    /// Requests made with the `_apikey` query parameter.
    pub query_key: u64,
}

impl TopRow {
    pub fn error_rate(&self) -> String {
        if self.total == 0 {
            return "–".into();
        }
        format!("{:.1} %", self.errors as f64 * 100.0 / self.total as f64)
    }
}

/// Refused requests that named a real API ID without its secret.
pub struct UnverifiedRow {
    pub api_id: String,
    pub name: String,
    pub attempts: u64,
    pub query_key: u64,
}

#[derive(Template)]
#[template(path = "admin/api.html")]
struct ApiPage {
    ctx: PageContext,
    top: Vec<TopRow>,
    unverified: Vec<UnverifiedRow>,
    unrecognised_failed: u64,
    total: u64,
    chart: charts::Chart,
    accounts: Vec<DeveloperAccount>,
    default_limit: u32,
}

pub async fn overview(admin: AdminUser) -> Result<HttpResponse, AppError> {
    let state = admin.viewer.state.clone();
    let today = admin.viewer.context.now.date();
    let from = today - chrono::Duration::days(USAGE_DAYS - 1);
    // From the rollups: a row per integration and a row per day, whatever the raw detail holds.
    let (rows, unverified_rows, days_rows, unverified_failed, accounts) =
        db::run(&state.pool, move |c| {
            let rows = api_usage::totals_since(c, from, today)?;
            let unverified = api_usage::unverified_by_api_id_since(c, from)?;
            let days = api_usage::days_since(c, from)?;
            let unverified_failed = api_usage::unverified_failed_auth_by_day(c, from)?;
            let accounts = accounts::all(c)?;
            Ok((rows, unverified, days, unverified_failed, accounts))
        })
        .await?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let mut unrecognised_failed = 0;
    let mut top: Vec<TopRow> = Vec::new();
    for (api_id, total, errors, failed_auth, query_key) in rows {
        if api_id.is_empty() {
            // Requests that named no real integration.
            unrecognised_failed += count(failed_auth);
            continue;
        }
        top.push(TopRow {
            name: String::new(),
            api_id,
            total: count(total),
            errors: count(errors),
            failed_auth: count(failed_auth),
            query_key: count(query_key),
        });
    }
    let mut unverified: Vec<UnverifiedRow> = unverified_rows
        .into_iter()
        .map(|(api_id, n, query_key)| UnverifiedRow {
            name: String::new(),
            api_id,
            attempts: count(n),
            query_key: count(query_key),
        })
        .collect();
    let total = days_rows.iter().map(|(_, n, _)| count(*n)).sum::<u64>()
        + unverified.iter().map(|r| r.attempts).sum::<u64>();
    unverified.sort_by(|a, b| b.attempts.cmp(&a.attempts).then(a.api_id.cmp(&b.api_id)));
    unverified.truncate(20);
    top.sort_by(|a, b| b.total.cmp(&a.total).then(a.api_id.cmp(&b.api_id)));
    top.truncate(20);
    // Names of the rows shown only.
    let ids: Vec<String> = top
        .iter()
        .map(|r| r.api_id.clone())
        .chain(unverified.iter().map(|r| r.api_id.clone()))
        .collect();
    let names: HashMap<String, String> =
        db::run(&state.pool, move |c| Ok(integrations::names_of(c, &ids)?))
            .await?
            .into_iter()
            .collect();
    for row in &mut top {
        row.name = names.get(&row.api_id).cloned().unwrap_or_default();
    }
    for row in &mut unverified {
        row.name = names.get(&row.api_id).cloned().unwrap_or_default();
    }
    let failed: Vec<(String, i64)> = days_rows
        .into_iter()
        .map(|(day, _, failed_auth)| (day, failed_auth))
        .chain(unverified_failed)
        .collect();
    let days: Vec<chrono::NaiveDate> = (0..USAGE_DAYS)
        .map(|d| from + chrono::Duration::days(d))
        .collect();
    let mut per_day = vec![0u64; days.len()];
    for (day, n) in failed {
        if let Some(i) = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .ok()
            .and_then(|d| days.iter().position(|x| *x == d))
        {
            per_day[i] += u64::try_from(n).unwrap_or(0);
        }
    }
    let chart = charts::stacked(
        "failed-auth",
        "Failed authentications per day",
        &days,
        &[("401".into(), per_day)],
        charts::Colours::Status,
    );
    render(&ApiPage {
        ctx: admin.viewer.page("API usage"),
        top,
        unverified,
        unrecognised_failed,
        total,
        chart,
        accounts,
        default_limit: state.settings.api.rate_limit_per_minute,
    })
}

#[derive(Deserialize)]
pub struct LimitForm {
    #[serde(default)]
    limit: String,
}

/// Sets an account's own rate limit (empty: back to the default). Takes effect at once.
pub async fn set_limit(
    admin: AdminUser,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<LimitForm>,
) -> Result<HttpResponse, AppError> {
    let account_id = path.into_inner();
    let raw = form.limit.trim().replace([',', '_', ' '], "");
    let limit = if raw.is_empty() {
        None
    } else {
        match raw.parse::<i32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Some(n),
            _ => {
                admin.viewer.flash(
                    FlashLevel::Error,
                    format!(
                        "\"{}\" is not a limit: enter requests per minute from 1 to {MAX_LIMIT}, or leave it empty for the default.",
                        form.limit.trim()
                    ),
                );
                return Ok(redirect("/admin/api#limits"));
            }
        }
    };
    let state = admin.viewer.state.clone();
    let (rc, id) = (admin.viewer.context.clone(), account_id.clone());
    let company = db::transaction_then(
        &state.pool,
        move |c| rate_limits::set_account_limit(c, &rc.ctx(), &id, limit),
        state.api.on_commit_invalidate_account(&account_id),
    )
    .await?
    .ok_or(AppError::NotFound)?;
    let message = match limit {
        Some(n) => format!("{company} may now make {n} API requests per minute."),
        None => format!(
            "{company} is back to the default of {} API requests per minute.",
            state.settings.api.rate_limit_per_minute
        ),
    };
    admin.viewer.flash(FlashLevel::Success, message);
    Ok(redirect("/admin/api#limits"))
}
