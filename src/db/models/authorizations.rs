use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::integrations::Integration;
use crate::db::models::organizations::Organization;
use crate::db::schema::{
    authorizations as a, developer_accounts as da, integrations as i, organizations as o,
};
use crate::db::DbConn;

crate::text_enum! {
    /// `authorizations.status`.
    pub enum AuthorizationStatus {
        Active = "active",
        /// The deletion duty runs from the revocation.
        Revoked = "revoked",
    }
}

impl AuthorizationStatus {
    pub fn is_active(self) -> bool {
        self == AuthorizationStatus::Active
    }
}

crate::text_enum! {
    /// Who granted or revoked an authorization (`authorized_via`, `revoked_via`).
    pub enum Via {
        /// An admin of the organization.
        Organization = "organization",
        /// ConCat support, on the organization's behalf.
        Support = "support",
        /// The integration was retired (revocations only).
        Retirement = "retirement",
    }
}

crate::text_enum! {
    /// Who recorded a deletion (`deletion_confirmed_via`).
    pub enum ConfirmedBy {
        /// The developer's attestation.
        Developer = "developer",
        /// A ConCat admin, resolving the duty.
        Admin = "admin",
    }
}

/// The developer must delete the organization's data within this many days of revocation.
pub const DELETION_DAYS: i64 = 30;

/// The deletion deadline for a revocation at `revoked_at`: exactly 30 days later. Reminders go
/// out 7 days and 1 day before it (days 23 and 29); at the deadline the duty is overdue.
pub fn deletion_deadline(revoked_at: NaiveDateTime) -> NaiveDateTime {
    revoked_at + chrono::Duration::days(DELETION_DAYS)
}

/// Stages of an open duty (`duty_stage`, 0 while nothing was sent): each is reached once, by the
/// deletion-duty job.
pub const STAGE_REMINDED_7D: i32 = 1;
pub const STAGE_REMINDED_1D: i32 = 2;
pub const STAGE_OVERDUE: i32 = 3;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = a)]
pub struct Authorization {
    pub id: String,
    pub organization_id: String,
    pub integration_id: String,
    pub scopes: String,
    pub status: AuthorizationStatus,
    pub authorized_at: NaiveDateTime,
    pub authorized_by_user_id: Option<String>,
    pub authorized_via: Via,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_by_user_id: Option<String>,
    pub revoked_via: Option<Via>,
    pub deletion_due_at: Option<NaiveDateTime>,
    pub deletion_confirmed_at: Option<NaiveDateTime>,
    pub deletion_confirmed_by_user_id: Option<String>,
    pub deletion_note: Option<String>,
    pub last_used_at: Option<NaiveDateTime>,
    pub duty_stage: i32,
    pub deletion_overdue_at: Option<NaiveDateTime>,
    pub deletion_confirmed_via: Option<ConfirmedBy>,
    pub usage_purged_at: Option<NaiveDateTime>,
    /// Draft events reach the integration too (the organization's choice; off by default).
    pub include_drafts: bool,
}

impl Authorization {
    /// Granted by ConCat support on the organization's behalf.
    pub fn authorized_by_support(&self) -> bool {
        self.authorized_via == Via::Support
    }

    /// Recorded by a ConCat admin (not attested by the developer).
    pub fn deletion_recorded_by_admin(&self) -> bool {
        self.deletion_confirmed_via == Some(ConfirmedBy::Admin)
    }

    /// pending / confirmed / overdue, for a revoked authorization.
    pub fn duty_state(&self, now: &NaiveDateTime) -> &'static str {
        match (self.deletion_confirmed_at, self.deletion_due_at) {
            (Some(_), _) => "confirmed",
            (None, _) if self.duty_stage == STAGE_OVERDUE => "overdue",
            (None, Some(due)) if *now >= due => "overdue",
            _ => "pending",
        }
    }

    /// "30 days left", "due within a day", "overdue", "3 days overdue": for the developer's
    /// pages. Days left count started days (as `clock::days_until`), so a duty revoked a moment
    /// ago has all 30.
    pub fn time_left(&self, now: &NaiveDateTime) -> String {
        let Some(due) = self.deletion_due_at else {
            return String::new();
        };
        let secs = (due - *now).num_seconds();
        if secs > 0 {
            match crate::clock::days_until(*now, due) {
                1 => "due within a day".into(),
                d => format!("{d} days left"),
            }
        } else {
            match -secs / 86_400 {
                0 => "overdue".into(),
                1 => "1 day overdue".into(),
                d => format!("{d} days overdue"),
            }
        }
    }

    pub fn due_date(&self) -> String {
        self.deletion_due_at
            .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default()
    }
}

/// What an authorization grants: its scopes (space-separated) and whether draft events are
/// included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub scopes: String,
    pub include_drafts: bool,
}

#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &mut DbConn,
    id: &str,
    org_id: &str,
    integration_id: &str,
    access: &Access,
    by: &str,
    via: Via,
    now: NaiveDateTime,
) -> QueryResult<Authorization> {
    diesel::insert_into(a::table)
        .values((
            a::id.eq(id),
            a::organization_id.eq(org_id),
            a::integration_id.eq(integration_id),
            a::scopes.eq(&access.scopes),
            a::include_drafts.eq(access.include_drafts),
            a::status.eq(AuthorizationStatus::Active),
            a::authorized_at.eq(now),
            a::authorized_by_user_id.eq(by),
            a::authorized_via.eq(via),
        ))
        .returning(super::returning::<Authorization>())
        .get_result(conn)
}

pub fn active_for(
    conn: &mut DbConn,
    org_id: &str,
    integration_id: &str,
) -> QueryResult<Option<Authorization>> {
    a::table
        .filter(a::organization_id.eq(org_id))
        .filter(a::integration_id.eq(integration_id))
        .filter(a::status.eq(AuthorizationStatus::Active))
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
    via: Via,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        a::table
            .find(id)
            .filter(a::status.eq(AuthorizationStatus::Active)),
    )
    .set((
        a::status.eq(AuthorizationStatus::Revoked),
        a::revoked_at.eq(now),
        a::revoked_by_user_id.eq(by),
        a::revoked_via.eq(via),
        a::deletion_due_at.eq(deletion_deadline(now)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn set_access(conn: &mut DbConn, id: &str, access: &Access) -> QueryResult<bool> {
    let n = diesel::update(
        a::table
            .find(id)
            .filter(a::status.eq(AuthorizationStatus::Active)),
    )
    .set((
        a::scopes.eq(&access.scopes),
        a::include_drafts.eq(access.include_drafts),
    ))
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
    via: ConfirmedBy,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        a::table
            .find(id)
            .filter(a::integration_id.eq(integration_id))
            .filter(a::status.eq(AuthorizationStatus::Revoked))
            .filter(a::deletion_confirmed_at.is_null()),
    )
    .set((
        a::deletion_confirmed_at.eq(now),
        a::deletion_confirmed_by_user_id.eq(by),
        a::deletion_note.eq(note),
        a::deletion_confirmed_via.eq(via),
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

/// One row of the compliance views: a duty with its organization, integration and company.
pub type DutyRow = (Authorization, Organization, Integration, String);

/// Deletion duties (revoked authorizations) joined to what a `DutyRow` shows, and its columns;
/// each duty query below adds its filters and order.
macro_rules! duties {
    () => {
        a::table
            .inner_join(o::table)
            .inner_join(i::table.inner_join(da::table))
            .filter(a::status.eq(AuthorizationStatus::Revoked))
    };
}

macro_rules! duty_columns {
    () => {
        (
            Authorization::as_select(),
            Organization::as_select(),
            Integration::as_select(),
            da::company_name,
        )
    };
}

/// Revoked authorizations whose deletion is not confirmed and whose next reminder (or the
/// deadline) has come by `now`: the deletion-duty job's work, soonest deadline first.
pub fn duties_due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<DutyRow>> {
    let horizon = now + chrono::Duration::days(7);
    duties!()
        .filter(a::deletion_confirmed_at.is_null())
        .filter(a::deletion_due_at.le(horizon))
        .filter(a::duty_stage.lt(STAGE_OVERDUE))
        // Only duties with a step due (already-reminded ones do not use up the limit).
        .filter(
            a::duty_stage
                .lt(STAGE_REMINDED_7D)
                .or(a::duty_stage
                    .lt(STAGE_REMINDED_1D)
                    .and(a::deletion_due_at.le(now + chrono::Duration::days(1))))
                .or(a::deletion_due_at.le(now)),
        )
        .order((a::deletion_due_at.asc(), a::id.asc()))
        .limit(limit)
        .select(duty_columns!())
        .load(conn)
}

/// Moves an open duty to `stage`; false when it is confirmed or already there (another run).
pub fn advance_duty(
    conn: &mut DbConn,
    id: &str,
    stage: i32,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let target = a::table
        .find(id)
        .filter(a::status.eq(AuthorizationStatus::Revoked))
        .filter(a::deletion_confirmed_at.is_null())
        .filter(a::duty_stage.lt(stage));
    let n = if stage == STAGE_OVERDUE {
        diesel::update(target)
            .set((a::duty_stage.eq(stage), a::deletion_overdue_at.eq(now)))
            .execute(conn)?
    } else {
        diesel::update(target)
            .set(a::duty_stage.eq(stage))
            .execute(conn)?
    };
    Ok(n == 1)
}

/// Every deletion duty (revoked authorizations), newest revocation first, for the admin
/// compliance page.
pub fn all_duties(conn: &mut DbConn) -> QueryResult<Vec<DutyRow>> {
    duties!()
        .order((a::revoked_at.desc(), a::id.desc()))
        .select(duty_columns!())
        .load(conn)
}

/// One duty, for an admin's resolution.
pub fn find_duty(conn: &mut DbConn, id: &str) -> QueryResult<Option<DutyRow>> {
    duties!()
        .filter(a::id.eq(id))
        .select(duty_columns!())
        .first(conn)
        .optional()
}

/// Revoked 30 days ago or more, with usage detail not yet purged (the usage-purge job's work).
pub fn purge_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(Authorization, Integration)>> {
    let cutoff = now - chrono::Duration::days(DELETION_DAYS);
    a::table
        .inner_join(i::table)
        .filter(a::status.eq(AuthorizationStatus::Revoked))
        .filter(a::usage_purged_at.is_null())
        .filter(a::revoked_at.le(cutoff))
        .order((a::revoked_at.asc(), a::id.asc()))
        .limit(limit)
        .select((Authorization::as_select(), Integration::as_select()))
        .load(conn)
}

/// Marks the usage detail purged; false when another run did it.
pub fn mark_usage_purged(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(a::table.find(id).filter(a::usage_purged_at.is_null()))
        .set(a::usage_purged_at.eq(now))
        .execute(conn)?;
    Ok(n == 1)
}

/// Active authorizations of an integration, with their organizations (retirement ends them).
pub fn active_of(
    conn: &mut DbConn,
    integration_id: &str,
) -> QueryResult<Vec<(Authorization, Organization)>> {
    a::table
        .inner_join(o::table)
        .filter(a::integration_id.eq(integration_id))
        .filter(a::status.eq(AuthorizationStatus::Active))
        .order(a::id.asc())
        .select((Authorization::as_select(), Organization::as_select()))
        .load(conn)
}

/// When the organization next authorized the integration after `after` (a newer row), if ever.
pub fn first_after(
    conn: &mut DbConn,
    org_id: &str,
    integration_id: &str,
    after: NaiveDateTime,
) -> QueryResult<Option<NaiveDateTime>> {
    a::table
        .filter(a::organization_id.eq(org_id))
        .filter(a::integration_id.eq(integration_id))
        .filter(a::authorized_at.gt(after))
        .order(a::authorized_at.asc())
        .select(a::authorized_at)
        .first(conn)
        .optional()
}
