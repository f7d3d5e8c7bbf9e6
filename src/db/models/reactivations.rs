//! Requests to reactivate an integration revoked for inactivity (at most one pending each).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::integrations::Integration;
use crate::db::schema::{
    developer_accounts as da, integrations as i, reactivation_requests as r, users as u,
};
use crate::db::DbConn;

crate::text_enum! {
    /// `reactivation_requests.status`.
    pub enum ReactivationStatus {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = r)]
pub struct ReactivationRequest {
    pub id: String,
    pub integration_id: String,
    pub requested_by_user_id: String,
    pub reason: String,
    pub status: ReactivationStatus,
    pub created_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
    pub decided_by_user_id: Option<String>,
    pub decision_note: Option<String>,
}

/// A pending request in the admin queue: the request, its integration, company and requester.
pub type QueueRow = (ReactivationRequest, Integration, String, String);

/// Inserts a pending request; false when one is already pending for the integration.
pub fn insert(
    conn: &mut DbConn,
    id: &str,
    integration_id: &str,
    by: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    if pending_for(conn, integration_id)?.is_some() {
        return Ok(false);
    }
    diesel::insert_into(r::table)
        .values((
            r::id.eq(id),
            r::integration_id.eq(integration_id),
            r::requested_by_user_id.eq(by),
            r::reason.eq(reason),
            r::status.eq(ReactivationStatus::Pending),
            r::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

pub fn pending_for(
    conn: &mut DbConn,
    integration_id: &str,
) -> QueryResult<Option<ReactivationRequest>> {
    r::table
        .filter(r::integration_id.eq(integration_id))
        .filter(r::status.eq(ReactivationStatus::Pending))
        .select(ReactivationRequest::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<ReactivationRequest>> {
    r::table
        .find(id)
        .select(ReactivationRequest::as_select())
        .first(conn)
        .optional()
}

/// Pending requests, oldest first.
pub fn queue(conn: &mut DbConn) -> QueryResult<Vec<QueueRow>> {
    r::table
        .inner_join(i::table.inner_join(da::table))
        .inner_join(u::table.on(u::id.eq(r::requested_by_user_id)))
        .filter(r::status.eq(ReactivationStatus::Pending))
        .order((r::created_at.asc(), r::id.asc()))
        .select((
            ReactivationRequest::as_select(),
            Integration::as_select(),
            da::company_name,
            u::email,
        ))
        .load(conn)
}

/// Pending → approved or rejected; false when it was decided already.
pub fn decide(
    conn: &mut DbConn,
    id: &str,
    status: ReactivationStatus,
    by: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        r::table
            .find(id)
            .filter(r::status.eq(ReactivationStatus::Pending)),
    )
    .set((
        r::status.eq(status),
        r::decided_at.eq(now),
        r::decided_by_user_id.eq(by),
        r::decision_note.eq(note),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
