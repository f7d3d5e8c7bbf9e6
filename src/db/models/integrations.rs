use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::developer_accounts::MemberRole;
use crate::db::schema::{developer_accounts as da, developer_members as dm, integrations as i};
use crate::db::DbConn;

crate::text_enum! {
    /// `integrations.status`.
    pub enum IntegrationStatus {
        Active = "active",
        /// Revoked for a year without a successful API request; ConCat admins may reactivate it.
        Inactive = "inactive",
        /// Retired by its developer or a ConCat admin: gone from every listing, kept for the
        /// record.
        Retired = "retired",
    }
}

impl IntegrationStatus {
    pub fn is_active(self) -> bool {
        self == IntegrationStatus::Active
    }

    pub fn is_inactive(self) -> bool {
        self == IntegrationStatus::Inactive
    }

    pub fn is_retired(self) -> bool {
        self == IntegrationStatus::Retired
    }
}
/// Credentials unused for this many days are revoked.
pub const INACTIVITY_DAYS: i64 = 365;
/// Warnings go out this many days before the revocation (the first one starts the countdown).
pub const INACTIVITY_FIRST_WARNING_DAYS: i64 = 30;
pub const INACTIVITY_LAST_WARNING_DAYS: i64 = 7;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = i)]
pub struct Integration {
    pub id: String,
    pub account_id: String,
    pub api_id: String,
    pub display_name: String,
    pub description: String,
    pub status: IntegrationStatus,
    pub created_at: NaiveDateTime,
    pub approved_by_user_id: Option<String>,
    pub last_used_at: Option<NaiveDateTime>,
    /// Start of the inactivity clock: approval, last successful API request, or reactivation.
    pub activity_at: NaiveDateTime,
    /// 0 none, 1 warned 30 days before revocation, 2 warned 7 days before.
    pub inactivity_stage: i32,
    pub inactivity_exempt: bool,
    /// When the last inactivity warning went out.
    pub inactivity_warned_at: Option<NaiveDateTime>,
    pub deactivated_at: Option<NaiveDateTime>,
    pub retired_at: Option<NaiveDateTime>,
    pub retired_by_user_id: Option<String>,
}

impl Integration {
    /// When the credentials will be revoked for inactivity (`None` when exempt or not active).
    pub fn inactivity_deadline(&self) -> Option<NaiveDateTime> {
        (self.status.is_active() && !self.inactivity_exempt)
            .then(|| self.activity_at + chrono::Duration::days(INACTIVITY_DAYS))
    }

    /// The deadline, once the warning period (the last 30 days) has begun.
    pub fn inactivity_countdown(&self, now: NaiveDateTime) -> Option<(NaiveDateTime, i64)> {
        let deadline = self.inactivity_deadline()?;
        let left = deadline - now;
        (left <= chrono::Duration::days(INACTIVITY_FIRST_WARNING_DAYS))
            .then(|| (deadline, crate::clock::days_until(now, deadline)))
    }
}

#[derive(Insertable)]
#[diesel(table_name = i)]
pub struct NewIntegration<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub api_id: &'a str,
    pub display_name: &'a str,
    pub description: &'a str,
    pub status: IntegrationStatus,
    pub created_at: NaiveDateTime,
    pub approved_by_user_id: Option<&'a str>,
    pub activity_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: &NewIntegration<'_>) -> QueryResult<()> {
    diesel::insert_into(i::table)
        .values(new)
        .execute(conn)
        .map(|_| ())
}

/// Serializes every change to the integration's status and secrets until the transaction ends
/// (PostgreSQL advisory lock; SQLite write transactions are serialized already), then reads it.
/// Issuing a secret, authorizing, retiring, deactivating and reactivating all take it, so none
/// of them acts on a status another has just changed.
pub fn lock(conn: &mut DbConn, id: &str) -> QueryResult<Option<Integration>> {
    crate::db::lock_key(conn, &format!("integration:{id}"))?;
    find(conn, id)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Integration>> {
    i::table
        .find(id)
        .select(Integration::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_api_id(conn: &mut DbConn, api_id: &str) -> QueryResult<Option<Integration>> {
    i::table
        .filter(i::api_id.eq(api_id))
        .select(Integration::as_select())
        .first(conn)
        .optional()
}

/// The integration together with the user's role in its developer account — `None` when the
/// user is not a member of that account. This is the ownership check for every developer route.
pub fn find_for_member(
    conn: &mut DbConn,
    id: &str,
    user_id: &str,
) -> QueryResult<Option<(Integration, MemberRole)>> {
    i::table
        .inner_join(dm::table.on(dm::account_id.eq(i::account_id)))
        .filter(i::id.eq(id))
        .filter(dm::user_id.eq(user_id))
        .select((Integration::as_select(), dm::role))
        .first(conn)
        .optional()
}

/// Every integration the user can see (through any developer account), with their role.
pub fn for_member(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<(Integration, MemberRole)>> {
    i::table
        .inner_join(dm::table.on(dm::account_id.eq(i::account_id)))
        .filter(dm::user_id.eq(user_id))
        .filter(i::status.ne(IntegrationStatus::Retired))
        .order((i::created_at.asc(), i::id.asc()))
        .select((Integration::as_select(), dm::role))
        .load(conn)
}

/// (API ID, display name) of every integration, for usage overviews.
pub fn names_by_api_id(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    i::table.select((i::api_id, i::display_name)).load(conn)
}

/// `(api_id, display_name)` of the integrations with these API IDs.
pub fn names_of(conn: &mut DbConn, api_ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    if api_ids.is_empty() {
        return Ok(Vec::new());
    }
    i::table
        .filter(i::api_id.eq_any(api_ids))
        .select((i::api_id, i::display_name))
        .load(conn)
}

/// Integrations due for an inactivity step at `now`: active, not exempt, and unused since the
/// first warning's cutoff, oldest first. Reads only the due rows (index `integrations_inactivity`).
pub fn inactivity_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Integration>> {
    let first = now - chrono::Duration::days(INACTIVITY_DAYS - INACTIVITY_FIRST_WARNING_DAYS);
    let last = now - chrono::Duration::days(INACTIVITY_DAYS - INACTIVITY_LAST_WARNING_DAYS);
    let end = now - chrono::Duration::days(INACTIVITY_DAYS);
    i::table
        .filter(i::status.eq(IntegrationStatus::Active))
        .filter(i::inactivity_exempt.eq(false))
        .filter(i::activity_at.le(first))
        // Only rows with a step due: not warned yet, due for the last warning, or past the end.
        .filter(
            i::inactivity_stage
                .lt(1)
                .or(i::inactivity_stage.lt(2).and(i::activity_at.le(last)))
                .or(i::activity_at.le(end)),
        )
        .order((i::activity_at.asc(), i::id.asc()))
        .limit(limit)
        .select(Integration::as_select())
        .load(conn)
}

/// Records an inactivity warning; false when the integration moved on meanwhile (used again,
/// exempted, deactivated, or already warned at this stage).
pub fn mark_inactivity_warned(
    conn: &mut DbConn,
    id: &str,
    stage: i32,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        i::table
            .find(id)
            .filter(i::status.eq(IntegrationStatus::Active))
            .filter(i::inactivity_exempt.eq(false))
            .filter(i::inactivity_stage.lt(stage))
            .filter(i::activity_at.le(cutoff)),
    )
    .set((
        i::inactivity_stage.eq(stage),
        i::inactivity_warned_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Active → inactive, when still unused since `cutoff` and not exempt.
pub fn deactivate(
    conn: &mut DbConn,
    id: &str,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    // Never without notice: the last warning went out at least 7 days ago.
    let warned_by = now - chrono::Duration::days(INACTIVITY_LAST_WARNING_DAYS);
    let n = diesel::update(
        i::table
            .find(id)
            .filter(i::status.eq(IntegrationStatus::Active))
            .filter(i::inactivity_exempt.eq(false))
            .filter(i::activity_at.le(cutoff))
            .filter(i::inactivity_stage.eq(2))
            .filter(i::inactivity_warned_at.le(warned_by)),
    )
    .set((
        i::status.eq(IntegrationStatus::Inactive),
        i::deactivated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Inactive → active; the inactivity clock starts again now.
pub fn reactivate(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        i::table
            .find(id)
            .filter(i::status.eq(IntegrationStatus::Inactive)),
    )
    .set((
        i::status.eq(IntegrationStatus::Active),
        i::activity_at.eq(now),
        i::inactivity_stage.eq(0),
        i::inactivity_warned_at.eq(None::<NaiveDateTime>),
        i::deactivated_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Active or inactive → retired.
pub fn retire(conn: &mut DbConn, id: &str, by: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        i::table
            .find(id)
            .filter(i::status.ne(IntegrationStatus::Retired)),
    )
    .set((
        i::status.eq(IntegrationStatus::Retired),
        i::retired_at.eq(now),
        i::retired_by_user_id.eq(by),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Sets the inactivity exemption; false when it already had that value (or is retired).
pub fn set_exempt(conn: &mut DbConn, id: &str, exempt: bool) -> QueryResult<bool> {
    let n = diesel::update(
        i::table
            .find(id)
            .filter(i::status.ne(IntegrationStatus::Retired))
            .filter(i::inactivity_exempt.ne(exempt)),
    )
    // Either way the warnings start over: no revocation without fresh notice.
    .set((i::inactivity_exempt.eq(exempt), i::inactivity_stage.eq(0)))
    .execute(conn)?;
    Ok(n == 1)
}

/// A successful API request at `at` restarts the inactivity clock (usage flush).
pub fn record_activity(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        i::table
            .find(id)
            .filter(i::status.eq(IntegrationStatus::Active))
            .filter(i::activity_at.lt(at)),
    )
    .set((i::activity_at.eq(at), i::inactivity_stage.eq(0)))
    .execute(conn)
}

/// One page of integrations that are not retired, newest first, with their account's company
/// name: at most `limit` from `seek` (keyset: created before/after (time, id)), optionally only
/// those whose name, company or API ID contains `search` (any case); and whether more lie
/// beyond in the direction read.
pub fn listed_page(
    conn: &mut DbConn,
    search: Option<&str>,
    seek: &crate::db::Seek,
    limit: i64,
) -> QueryResult<(Vec<(Integration, String)>, bool)> {
    use crate::db::Seek;
    diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
    let mut q = i::table
        .inner_join(da::table)
        .filter(i::status.ne(IntegrationStatus::Retired))
        .into_boxed();
    if let Some(s) = search {
        let pattern = crate::db::contains_pattern(s);
        q = q.filter(
            lower(i::display_name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(da::company_name).like(pattern.clone()).escape('\\'))
                .or(lower(i::api_id).like(pattern).escape('\\')),
        );
    }
    q = match seek {
        Seek::Newest => q.order((i::created_at.desc(), i::id.desc())),
        Seek::Older(at, id) => q
            .filter(
                i::created_at
                    .lt(*at)
                    .or(i::created_at.eq(*at).and(i::id.lt(id.clone()))),
            )
            .order((i::created_at.desc(), i::id.desc())),
        Seek::Newer(at, id) => q
            .filter(
                i::created_at
                    .gt(*at)
                    .or(i::created_at.eq(*at).and(i::id.gt(id.clone()))),
            )
            .order((i::created_at.asc(), i::id.asc())),
    };
    let rows = q
        .select((Integration::as_select(), da::company_name))
        .limit(limit + 1)
        .load(conn)?;
    Ok(seek.page(rows, limit))
}

/// The user's retired integrations (for their open deletion duties).
pub fn retired_for_member(
    conn: &mut DbConn,
    user_id: &str,
) -> QueryResult<Vec<(Integration, MemberRole)>> {
    i::table
        .inner_join(dm::table.on(dm::account_id.eq(i::account_id)))
        .filter(dm::user_id.eq(user_id))
        .filter(i::status.eq(IntegrationStatus::Retired))
        .order((i::created_at.asc(), i::id.asc()))
        .select((Integration::as_select(), dm::role))
        .load(conn)
}
