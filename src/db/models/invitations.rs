//! Pending invitations: to a developer account's team, to an organization's admins, to the
//! ConCat admins. One table for the three kinds; nothing is granted until the invited person
//! accepts (see `crate::invitations`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::developer_accounts::MemberRole;
use crate::db::schema::invitations as i;
use crate::db::DbConn;
use crate::domain::{DisplayName, EmailAddress};

crate::text_enum! {
    /// `invitations.status`.
    pub enum InvitationStatus {
        Pending = "pending",
        Accepted = "accepted",
        Withdrawn = "withdrawn",
    }
}

crate::text_enum! {
    /// What an invitation grants (`invitations.kind`), with its target.
    pub enum Kind {
        /// A member or owner of a developer account (`target_id`: the account, `role`: its
        /// role).
        DeveloperAccount = "developer_account",
        /// An admin of an event organization (`target_id`: the organization).
        Organization = "organization",
        /// A ConCat administrator (no target).
        ConcatAdmin = "concat_admin",
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = i)]
pub struct Invitation {
    pub id: String,
    pub kind: Kind,
    pub target_id: Option<String>,
    /// For a developer account's team.
    pub role: Option<MemberRole>,
    pub email: EmailAddress,
    pub email_normalized: String,
    /// The name the inviter typed.
    pub name: DisplayName,
    pub status: InvitationStatus,
    pub invited_by_user_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
    pub decided_by_user_id: Option<String>,
}

impl Invitation {
    pub fn is_expired(&self, now: NaiveDateTime) -> bool {
        self.expires_at <= now
    }
}

#[derive(Insertable)]
#[diesel(table_name = i)]
pub struct NewInvitation<'a> {
    pub id: &'a str,
    pub kind: Kind,
    pub target_id: Option<&'a str>,
    pub role: Option<MemberRole>,
    pub email: &'a str,
    pub email_normalized: &'a str,
    pub name: &'a str,
    pub status: InvitationStatus,
    pub invited_by_user_id: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: &NewInvitation<'_>) -> QueryResult<()> {
    diesel::insert_into(i::table)
        .values(new)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Invitation>> {
    i::table
        .find(id)
        .select(Invitation::as_select())
        .first(conn)
        .optional()
}

/// The invitation with this id, only if it is of this kind and for this target: another
/// account's or organization's invitation is simply not found.
pub fn find_in(
    conn: &mut DbConn,
    id: &str,
    kind: Kind,
    target_id: Option<&str>,
) -> QueryResult<Option<Invitation>> {
    let mut q = i::table.find(id).filter(i::kind.eq(kind)).into_boxed();
    q = match target_id {
        Some(t) => q.filter(i::target_id.eq(t.to_string())),
        None => q.filter(i::target_id.is_null()),
    };
    q.select(Invitation::as_select()).first(conn).optional()
}

/// Pending, unexpired invitations of this kind and target, oldest first.
pub fn pending_for(
    conn: &mut DbConn,
    kind: Kind,
    target_id: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<Vec<Invitation>> {
    let mut q = i::table
        .filter(i::kind.eq(kind))
        .filter(i::status.eq(InvitationStatus::Pending))
        .filter(i::expires_at.gt(now))
        .into_boxed();
    q = match target_id {
        Some(t) => q.filter(i::target_id.eq(t.to_string())),
        None => q.filter(i::target_id.is_null()),
    };
    q.order((i::created_at.asc(), i::id.asc()))
        .select(Invitation::as_select())
        .load(conn)
}

/// Moves a pending invitation to `to` (accepted or withdrawn), only while it is pending and,
/// for acceptance, unexpired. Returns whether this call won.
pub fn decide(
    conn: &mut DbConn,
    id: &str,
    to: InvitationStatus,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    // Acceptance only before expiry; withdrawal at any time while pending.
    let not_before = if to == InvitationStatus::Accepted {
        now
    } else {
        chrono::DateTime::UNIX_EPOCH.naive_utc()
    };
    let n = diesel::update(
        i::table
            .find(id)
            .filter(i::status.eq(InvitationStatus::Pending))
            .filter(i::expires_at.gt(not_before)),
    )
    .set((
        i::status.eq(to),
        i::decided_at.eq(now),
        i::decided_by_user_id.eq(by),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
