//! Issuing, rolling, revoking and checking API secrets. A secret exists in clear text only in
//! the `ApiSecret` returned here, which the caller shows once; the database keeps its SHA-256
//! digest and a 10-character prefix.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use subtle::ConstantTimeEq;

use crate::db::models::api_secrets::{self, ApiSecretRow, MAX_ACTIVE};
use crate::db::models::integrations::{Integration, ACTIVE};
use crate::db::schema::{api_secrets as s, integrations as i};
use crate::db::{lock_key, new_id, DbConn};
use crate::domain::{ApiId, ApiSecret};

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("this integration already has {MAX_ACTIVE} active secrets; revoke one first")]
    TooManyActive,
    #[error("this integration is not active")]
    NotActive,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// When the old secret stops working after a roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    Now,
    OneHour,
    OneDay,
    SevenDays,
}

impl Overlap {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "now" => Some(Overlap::Now),
            "1h" => Some(Overlap::OneHour),
            "24h" => Some(Overlap::OneDay),
            "7d" => Some(Overlap::SevenDays),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Now => "now",
            Overlap::OneHour => "1h",
            Overlap::OneDay => "24h",
            Overlap::SevenDays => "7d",
        }
    }

    fn duration(self) -> chrono::Duration {
        match self {
            Overlap::Now => chrono::Duration::zero(),
            Overlap::OneHour => chrono::Duration::hours(1),
            Overlap::OneDay => chrono::Duration::hours(24),
            Overlap::SevenDays => chrono::Duration::days(7),
        }
    }
}

/// A new secret for an active integration; refused when two are active already.
pub fn issue(
    conn: &mut DbConn,
    integration: &Integration,
    by: Option<&str>,
    now: NaiveDateTime,
) -> Result<ApiSecret, IssueError> {
    if integration.status != ACTIVE {
        return Err(IssueError::NotActive);
    }
    // Count and insert under one lock, so concurrent requests cannot exceed the limit.
    lock_key(conn, &format!("secrets:{}", integration.id))?;
    if api_secrets::active(conn, &integration.id, now)?.len() >= MAX_ACTIVE {
        return Err(IssueError::TooManyActive);
    }
    let secret = ApiSecret::generate();
    api_secrets::insert(
        conn,
        &new_id(),
        &integration.id,
        &secret.prefix(),
        &secret.digest(),
        by,
        now,
    )?;
    Ok(secret)
}

/// Rolls: a new secret, and every currently active secret stops working after `overlap`.
/// With two secrets already active the roll is refused (one must be revoked first).
pub fn roll(
    conn: &mut DbConn,
    integration: &Integration,
    by: Option<&str>,
    overlap: Overlap,
    now: NaiveDateTime,
) -> Result<(ApiSecret, Vec<ApiSecretRow>), IssueError> {
    if integration.status != ACTIVE {
        return Err(IssueError::NotActive);
    }
    lock_key(conn, &format!("secrets:{}", integration.id))?;
    let old = api_secrets::active(conn, &integration.id, now)?;
    if old.len() >= MAX_ACTIVE {
        return Err(IssueError::TooManyActive);
    }
    for row in &old {
        if overlap == Overlap::Now {
            api_secrets::revoke(conn, &integration.id, &row.id, now)?;
        } else {
            api_secrets::expire_at(conn, &row.id, now + overlap.duration())?;
        }
    }
    let secret = ApiSecret::generate();
    api_secrets::insert(
        conn,
        &new_id(),
        &integration.id,
        &secret.prefix(),
        &secret.digest(),
        by,
        now,
    )?;
    Ok((secret, old))
}

/// Why an `Authorization` header was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No header, not `Bearer <API ID>:<secret>`, or a secret whose checksum is wrong.
    Malformed,
    /// Well-formed, but no active secret of an active integration with that API ID matches.
    Invalid,
}

/// The caller, once its credentials check out.
#[derive(Debug, Clone)]
pub struct Caller {
    pub integration: Integration,
    pub secret_id: String,
}

/// Parses `Bearer <API ID>:<API Secret>` without touching the database.
pub fn parse_bearer(header: &str) -> Result<(ApiId, ApiSecret), AuthFailure> {
    let token = header
        .strip_prefix("Bearer ")
        .ok_or(AuthFailure::Malformed)?
        .trim();
    let (id, secret) = token.split_once(':').ok_or(AuthFailure::Malformed)?;
    let id = ApiId::parse(id).map_err(|_| AuthFailure::Malformed)?;
    let secret = ApiSecret::parse(secret).ok_or(AuthFailure::Malformed)?;
    Ok((id, secret))
}

/// Checks a credential pair with one indexed read (by the secret's digest); the API ID is then
/// compared in constant time. No argon2: the secret has 256 bits of entropy.
pub fn authenticate(
    conn: &mut DbConn,
    api_id: &ApiId,
    secret: &ApiSecret,
    now: NaiveDateTime,
) -> QueryResult<Result<Caller, AuthFailure>> {
    let found: Option<(ApiSecretRow, Integration)> = s::table
        .inner_join(i::table)
        .filter(s::digest.eq(secret.digest()))
        .select((ApiSecretRow::as_select(), Integration::as_select()))
        .first(conn)
        .optional()?;
    let Some((row, integration)) = found else {
        return Ok(Err(AuthFailure::Invalid));
    };
    let same_id = bool::from(
        integration
            .api_id
            .as_bytes()
            .ct_eq(api_id.as_str().as_bytes()),
    );
    if !same_id || !row.is_active(now) || integration.status != ACTIVE {
        return Ok(Err(AuthFailure::Invalid));
    }
    Ok(Ok(Caller {
        integration,
        secret_id: row.id,
    }))
}

/// Convenience for callers holding a raw header.
pub fn authenticate_header(
    conn: &mut DbConn,
    header: &str,
    now: NaiveDateTime,
) -> QueryResult<Result<Caller, AuthFailure>> {
    match parse_bearer(header) {
        Ok((id, secret)) => authenticate(conn, &id, &secret, now),
        Err(f) => Ok(Err(f)),
    }
}
