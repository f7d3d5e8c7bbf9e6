use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use std::collections::HashMap;

use crate::db::models::audit::{self, AuditFilter, AuditRow, TargetName};
use crate::db::{self};
use crate::errors::AppError;
use crate::web::forms::{encode_query, filter_text, seek, when, FieldErrors, Keyset, Position};
use crate::web::session::AdminUser;
use crate::web::{render, PageContext};

const PER_PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    /// Keyset pagination: entries older (or newer) than this position (`forms::Position`).
    #[serde(default)]
    older: String,
    #[serde(default)]
    newer: String,
}

/// What an audit code means, as the middle of a sentence ("Ada" … "the access request X").
/// An action not listed here is shown by its code.
fn phrase(action: &str) -> Option<&'static str> {
    Some(match action {
        "access_request.submitted" => "requested API access:",
        "access_request.confirmed" => "confirmed their email for the access request",
        "access_request.approved" => "approved the access request",
        "access_request.rejected" => "rejected the access request",
        "access_request.info_requested" => "asked for more information on the access request",
        "access_request.answered" => "answered the question on the access request",
        "account.name_changed" => "changed their display name",
        "account.rate_limit_changed" => "changed the API rate limit of",
        "admin.created" => "created the ConCat admin",
        "authorization.granted" => "authorized an integration for",
        "authorization.revoked" => "revoked an integration's access to",
        "authorization.scopes_changed" => "changed what an integration may do for",
        "deletion.confirmed" => "confirmed deleting an organization's data",
        "deletion.overdue" => "marked a data deletion overdue",
        "deletion.resolved" => "recorded how a data deletion was resolved",
        "developer_account.suspended" => "suspended the developer account",
        "developer_account.reinstated" => "reinstated the developer account",
        "event.created" => "created the event",
        "event.updated" => "updated the event",
        "event.updated_via_api" => "updated, through the API, the event",
        "integration.created" => "created the integration",
        "integration.deactivated" => "deactivated for inactivity the integration",
        "integration.reactivation_requested" => "asked to reactivate the integration",
        "integration.reactivated" => "reactivated the integration",
        "integration.reactivation_declined" => "declined to reactivate the integration",
        "integration.retired" => "retired the integration",
        "integration.inactivity_exempted" => "exempted from the inactivity rule the integration",
        "integration.inactivity_exemption_removed" => {
            "removed the inactivity exemption of the integration"
        }
        "invitation.invited" => "sent the invitation",
        "invitation.accepted" => "accepted the invitation",
        "invitation.withdrawn" => "withdrew the invitation",
        "jobs.run" => "ran the scheduled jobs",
        "login.succeeded" => "signed in",
        "login.password_verified" => "gave the right password (the second factor comes next)",
        "login.failed" => "failed to sign in",
        "login.locked" => "was locked out after too many failed sign-ins",
        "login.refused_suspended" => "was refused sign-in: the account is suspended",
        "logout" => "signed out",
        "mfa.totp_added" => "set up an authenticator app for",
        "mfa.totp_removed" => "removed the authenticator app of",
        "mfa.passkey_added" => "added a passkey to the account of",
        "mfa.passkey_removed" => "removed a passkey from the account of",
        "mfa.recovery_codes_regenerated" => "made new recovery codes for",
        "mfa.recovery_code_used" => "used a recovery code of",
        "mfa.reset" => "removed every second factor of",
        "mfa.failed" => "gave a wrong second factor for",
        "mfa.locked" => "was locked out after too many wrong codes for",
        "sudo.confirmed" => "confirmed with a password or factor, before a protected action, being",
        "organization.created" => "created the organization",
        "organization.admin_removed" => "removed an admin of",
        "outbox.retry" => "asked to send an email again",
        "password.changed" => "changed their password",
        "password.reset_requested" => "asked for a password reset link",
        "password.reset" => "reset their password",
        "password.set_from_invitation" => "set their password from an invitation",
        "secret.created" => "created a secret for",
        "secret.rolled" => "rolled the secret of",
        "secret.revoked" => "revoked a secret of",
        "user.suspended" => "suspended the user",
        "user.reactivated" => "reactivated the user",
        _ => return None,
    })
}

/// A name in a sentence, linked to its page where it has one.
struct Named {
    label: String,
    link: Option<String>,
}

/// One audit entry as a sentence (actor, what, target), with its raw record one click away.
struct Entry {
    row: AuditRow,
    actor: Named,
    what: String,
    target: Option<Named>,
    details: String,
}

fn named(kind: &str, id: &str, names: &HashMap<(String, String), TargetName>) -> Named {
    let found = names.get(&(kind.to_string(), id.to_string()));
    let Some(n) = found else {
        return Named {
            label: format!("{} {id}", kind.replace('_', " ")),
            link: None,
        };
    };
    let link = match (kind, &n.key) {
        ("user", Some(email)) => Some(format!(
            "/admin/users?q={}",
            url::form_urlencoded::byte_serialize(email.as_bytes()).collect::<String>()
        )),
        ("organization", Some(public_id)) => Some(format!("/org/{public_id}/integrations")),
        ("access_request", _) => Some(format!("/admin/requests/{id}")),
        _ => None,
    };
    let label = match (kind, &n.key) {
        ("integration", Some(api_id)) => format!("{} ({api_id})", n.label),
        _ => n.label.clone(),
    };
    Named { label, link }
}

fn entry(row: AuditRow, names: &HashMap<(String, String), TargetName>) -> Entry {
    let actor = match &row.actor_user_id {
        Some(id) => match names.get(&("user".to_string(), id.clone())) {
            Some(_) => named("user", id, names),
            None => Named {
                label: row.actor_label.clone(),
                link: None,
            },
        },
        None => Named {
            label: row.actor_label.clone(),
            link: None,
        },
    };
    // "Ada signed in", not "Ada signed in Ada".
    let target = match (&row.target_type, &row.target_id) {
        (Some(kind), Some(id)) if !(kind == "user" && row.actor_user_id.as_ref() == Some(id)) => {
            Some(named(kind, id, names))
        }
        _ => None,
    };
    let details = serde_json::from_str::<serde_json::Value>(&row.details)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| row.details.clone());
    Entry {
        what: phrase(&row.action).map_or_else(|| row.action.clone(), str::to_string),
        actor,
        target,
        details,
        row,
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    ctx: PageContext,
    q: AuditQuery,
    /// (code, what it means) for the filter.
    actions: Vec<(String, String)>,
    rows: Vec<Entry>,
    pager: Keyset,
    errors: FieldErrors,
}

impl AuditPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        when(t)
    }
}

fn parse_date(s: &str) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| "Use a date like 2026-12-31.".to_string())
}

pub async fn list(
    admin: AdminUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let mut errors = FieldErrors::default();
    let from = errors.take("from", parse_date(&q.from)).flatten();
    let until = errors.take("until", parse_date(&q.until)).flatten();
    let filter = AuditFilter {
        actor: filter_text(&q.actor),
        action: filter_text(&q.action),
        from: from.and_then(|d| d.and_hms_opt(0, 0, 0)),
        // "until" is inclusive of that whole day.
        until: until
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0)),
    };
    let seek = seek(&q.older, &q.newer)?;
    let by = seek.clone();
    let (rows, more, actions, names) = db::run(&admin.viewer.state.pool, move |c| {
        let (rows, more) = audit::page(c, &filter, &by, PER_PAGE)?;
        let names = audit::names_for(c, &rows)?;
        Ok((rows, more, audit::actions(c)?, names))
    })
    .await?;
    let pager = Keyset::links(
        "/admin/audit",
        &encode_query(&[
            ("actor", &q.actor),
            ("action", &q.action),
            ("from", &q.from),
            ("until", &q.until),
        ]),
        &seek,
        &rows,
        more,
        |r| Position {
            at: r.occurred_at,
            id: r.id.clone(),
        },
    );
    let rows = rows.into_iter().map(|r| entry(r, &names)).collect();
    let actions = actions
        .into_iter()
        .map(|a| {
            let meaning = phrase(&a).unwrap_or_default().trim_end_matches(':');
            let label = if meaning.is_empty() {
                a.clone()
            } else {
                format!("{meaning} ({a})")
            };
            (a, label)
        })
        .collect();
    render(&AuditPage {
        ctx: admin.viewer.page("Audit log"),
        q,
        actions,
        rows,
        pager,
        errors,
    })
}
