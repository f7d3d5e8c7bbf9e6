use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::api_secrets as s;
use crate::db::DbConn;

/// At most this many secrets may be active at once (the current one and one being rolled out).
pub const MAX_ACTIVE: usize = 2;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = s)]
pub struct ApiSecretRow {
    pub id: String,
    pub integration_id: String,
    pub prefix: String,
    pub digest: String,
    pub created_at: NaiveDateTime,
    pub created_by_user_id: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

impl ApiSecretRow {
    pub fn is_active(&self, now: NaiveDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

pub fn insert(
    conn: &mut DbConn,
    id: &str,
    integration_id: &str,
    prefix: &str,
    digest: &str,
    created_by: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(s::table)
        .values((
            s::id.eq(id),
            s::integration_id.eq(integration_id),
            s::prefix.eq(prefix),
            s::digest.eq(digest),
            s::created_at.eq(now),
            s::created_by_user_id.eq(created_by),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Secrets that still work at `now`, oldest first.
pub fn active(
    conn: &mut DbConn,
    integration_id: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<ApiSecretRow>> {
    s::table
        .filter(s::integration_id.eq(integration_id))
        .filter(s::revoked_at.is_null())
        .filter(s::expires_at.is_null().or(s::expires_at.gt(now)))
        .order((s::created_at.asc(), s::id.asc()))
        .select(ApiSecretRow::as_select())
        .load(conn)
}

pub fn find_by_digest(conn: &mut DbConn, digest: &str) -> QueryResult<Option<ApiSecretRow>> {
    s::table
        .filter(s::digest.eq(digest))
        .select(ApiSecretRow::as_select())
        .first(conn)
        .optional()
}

/// Sets when an active secret stops working (rolling); never extends one that expires sooner.
pub fn expire_at(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        s::table
            .find(id)
            .filter(s::revoked_at.is_null())
            .filter(s::expires_at.is_null().or(s::expires_at.gt(at))),
    )
    .set(s::expires_at.eq(at))
    .execute(conn)
}

/// Revokes one secret of the integration; false when it was not active.
pub fn revoke(
    conn: &mut DbConn,
    integration_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        s::table
            .find(id)
            .filter(s::integration_id.eq(integration_id))
            .filter(s::revoked_at.is_null())
            .filter(s::expires_at.is_null().or(s::expires_at.gt(now))),
    )
    .set(s::revoked_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

/// Revokes every active secret of the integration (inactivity, retirement); returns how many.
pub fn revoke_all(
    conn: &mut DbConn,
    integration_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        s::table
            .filter(s::integration_id.eq(integration_id))
            .filter(s::revoked_at.is_null())
            .filter(s::expires_at.is_null().or(s::expires_at.gt(now))),
    )
    .set(s::revoked_at.eq(now))
    .execute(conn)
}
