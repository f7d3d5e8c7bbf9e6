use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::integrations::Integration;
use crate::db::models::organizations::Organization;
use crate::db::schema::{authorizations as a, integrations as i, organizations as o};
use crate::db::DbConn;

pub const ACTIVE: &str = "active";
pub const REVOKED: &str = "revoked";
pub const VIA_ORGANIZATION: &str = "organization";
pub const VIA_SUPPORT: &str = "support";
/// The developer must delete the organization's data within this many days of revocation.
pub const DELETION_DAYS: i64 = 30;

/// The deletion deadline for a revocation at `revoked_at`: the end (23:59:59 UTC) of the day
/// 30 days later, so the date in the email is the whole last day.
pub fn deletion_deadline(revoked_at: NaiveDateTime) -> NaiveDateTime {
    (revoked_at.date() + chrono::Duration::days(DELETION_DAYS))
        .and_hms_opt(23, 59, 59)
        .expect("a valid time")
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = a)]
pub struct Authorization {
    pub id: String,
    pub organization_id: String,
    pub integration_id: String,
    pub scopes: String,
    pub status: String,
    pub authorized_at: NaiveDateTime,
    pub authorized_by_user_id: Option<String>,
    pub authorized_via: String,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_by_user_id: Option<String>,
    pub revoked_via: Option<String>,
    pub deletion_due_at: Option<NaiveDateTime>,
    pub deletion_confirmed_at: Option<NaiveDateTime>,
    pub deletion_confirmed_by_user_id: Option<String>,
    pub deletion_note: Option<String>,
    pub last_used_at: Option<NaiveDateTime>,
}

impl Authorization {
    /// pending / confirmed / overdue, for a revoked authorization.
    pub fn duty_state(&self, now: &NaiveDateTime) -> &'static str {
        match (self.deletion_confirmed_at, self.deletion_due_at) {
            (Some(_), _) => "confirmed",
            (None, Some(due)) if *now > due => "overdue",
            _ => "pending",
        }
    }

    pub fn due_date(&self) -> String {
        self.deletion_due_at
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    }
}

#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &mut DbConn,
    id: &str,
    org_id: &str,
    integration_id: &str,
    scopes: &str,
    by: &str,
    via: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(a::table)
        .values((
            a::id.eq(id),
            a::organization_id.eq(org_id),
            a::integration_id.eq(integration_id),
            a::scopes.eq(scopes),
            a::status.eq(ACTIVE),
            a::authorized_at.eq(now),
            a::authorized_by_user_id.eq(by),
            a::authorized_via.eq(via),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn active_for(
    conn: &mut DbConn,
    org_id: &str,
    integration_id: &str,
) -> QueryResult<Option<Authorization>> {
    a::table
        .filter(a::organization_id.eq(org_id))
        .filter(a::integration_id.eq(integration_id))
        .filter(a::status.eq(ACTIVE))
        .select(Authorization::as_select())
        .first(conn)
        .optional()
}

/// One authorization of the organization (404 for any other organization's).
pub fn find_in_org(
    conn: &mut DbConn,
    org_id: &str,
    id: &str,
) -> QueryResult<Option<Authorization>> {
    a::table
        .filter(a::organization_id.eq(org_id))
        .filter(a::id.eq(id))
        .select(Authorization::as_select())
        .first(conn)
        .optional()
}

/// Revokes an active authorization; the deletion duty starts now. False when not active.
pub fn revoke(
    conn: &mut DbConn,
    id: &str,
    by: &str,
    via: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(a::table.find(id).filter(a::status.eq(ACTIVE)))
        .set((
            a::status.eq(REVOKED),
            a::revoked_at.eq(now),
            a::revoked_by_user_id.eq(by),
            a::revoked_via.eq(via),
            a::deletion_due_at.eq(deletion_deadline(now)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn set_scopes(conn: &mut DbConn, id: &str, scopes: &str) -> QueryResult<bool> {
    let n = diesel::update(a::table.find(id).filter(a::status.eq(ACTIVE)))
        .set(a::scopes.eq(scopes))
        .execute(conn)?;
    Ok(n == 1)
}

/// Records the developer's attestation; false when there is no open duty.
pub fn confirm_deletion(
    conn: &mut DbConn,
    integration_id: &str,
    id: &str,
    by: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        a::table
            .find(id)
            .filter(a::integration_id.eq(integration_id))
            .filter(a::status.eq(REVOKED))
            .filter(a::deletion_confirmed_at.is_null()),
    )
    .set((
        a::deletion_confirmed_at.eq(now),
        a::deletion_confirmed_by_user_id.eq(by),
        a::deletion_note.eq(note),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The organization's authorizations, newest first, with their integrations.
pub fn for_org(conn: &mut DbConn, org_id: &str) -> QueryResult<Vec<(Authorization, Integration)>> {
    a::table
        .inner_join(i::table)
        .filter(a::organization_id.eq(org_id))
        .order((a::authorized_at.desc(), a::id.desc()))
        .select((Authorization::as_select(), Integration::as_select()))
        .load(conn)
}

/// The integration's authorizations, newest first, with their organizations.
pub fn for_integration(
    conn: &mut DbConn,
    integration_id: &str,
) -> QueryResult<Vec<(Authorization, Organization)>> {
    a::table
        .inner_join(o::table)
        .filter(a::integration_id.eq(integration_id))
        .order((a::authorized_at.desc(), a::id.desc()))
        .select((Authorization::as_select(), Organization::as_select()))
        .load(conn)
}
