use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{access_request_messages as m, access_requests as r};
use crate::db::DbConn;
use crate::domain::{DisplayName, EmailAddress};

crate::text_enum! {
    /// `access_requests.status`.
    pub enum RequestStatus {
        Pending = "pending",
        /// An admin asked the requester a question; the answer puts it back to pending.
        InfoRequested = "info_requested",
        Approved = "approved",
        Rejected = "rejected",
    }
}

impl RequestStatus {
    /// Still waiting for a decision.
    pub const OPEN: [RequestStatus; 2] = [RequestStatus::Pending, RequestStatus::InfoRequested];

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }

    pub fn is_pending(self) -> bool {
        self == RequestStatus::Pending
    }

    /// As the admin pages name it.
    pub fn label(self) -> &'static str {
        match self {
            RequestStatus::Pending => "Pending",
            RequestStatus::InfoRequested => "Information requested",
            RequestStatus::Approved => "Approved",
            RequestStatus::Rejected => "Rejected",
        }
    }
}

crate::text_enum! {
    /// `access_requests.kind`.
    pub enum RequestKind {
        /// From outside: approval creates the developer account (and the user, if new).
        NewAccount = "new_account",
        /// From an owner of an existing account: another integration for it.
        Additional = "additional_integration",
    }
}

impl RequestKind {
    pub fn is_additional(self) -> bool {
        self == RequestKind::Additional
    }
}

crate::text_enum! {
    /// `access_request_messages.author`.
    pub enum MessageAuthor {
        /// A ConCat admin's question.
        Admin = "admin",
        /// The requester's answer.
        Requester = "requester",
    }
}

impl MessageAuthor {
    pub fn is_admin(self) -> bool {
        self == MessageAuthor::Admin
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = r)]
pub struct AccessRequest {
    pub id: String,
    pub kind: RequestKind,
    pub status: RequestStatus,
    /// Parsed when the request was made (or the owner's, for another integration); read back
    /// as stored.
    pub requester_name: DisplayName,
    pub company_name: String,
    pub website: String,
    /// As `requester_name`.
    pub contact_email: EmailAddress,
    pub contact_email_normalized: String,
    pub phone: Option<String>,
    pub app_name: String,
    pub use_case: String,
    pub event_customers: String,
    pub account_id: Option<String>,
    pub requested_by_user_id: Option<String>,
    pub client_ip: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
    pub decided_by_user_id: Option<String>,
    pub rejection_reason: Option<String>,
    pub integration_id: Option<String>,
    /// When the requester confirmed their email through the link; `None` while unconfirmed
    /// (such a request is invisible to admins and blocks nobody). Requests from signed-in
    /// owners are confirmed when submitted.
    pub confirmed_at: Option<NaiveDateTime>,
}

impl AccessRequest {
    pub fn customers(&self) -> Vec<&str> {
        self.event_customers
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    pub fn is_open(&self) -> bool {
        self.status.is_open()
    }

    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }
}

#[derive(Insertable)]
#[diesel(table_name = r)]
pub struct NewAccessRequest<'a> {
    pub id: &'a str,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub requester_name: &'a str,
    pub company_name: &'a str,
    pub website: &'a str,
    pub contact_email: &'a str,
    pub contact_email_normalized: &'a str,
    pub phone: Option<&'a str>,
    pub app_name: &'a str,
    pub use_case: &'a str,
    pub event_customers: &'a str,
    pub account_id: Option<&'a str>,
    pub requested_by_user_id: Option<&'a str>,
    pub client_ip: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
}

/// Inserts the request and returns it as stored.
pub fn insert(conn: &mut DbConn, new: &NewAccessRequest<'_>) -> QueryResult<AccessRequest> {
    diesel::insert_into(r::table)
        .values(new)
        .returning(super::returning::<AccessRequest>())
        .get_result(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<AccessRequest>> {
    r::table
        .find(id)
        .select(AccessRequest::as_select())
        .first(conn)
        .optional()
}

/// A request admins may see: one whose requester confirmed the email address.
pub fn find_confirmed(conn: &mut DbConn, id: &str) -> QueryResult<Option<AccessRequest>> {
    r::table
        .find(id)
        .filter(r::confirmed_at.is_not_null())
        .select(AccessRequest::as_select())
        .first(conn)
        .optional()
}

/// An open, confirmed new-developer request from this email, if any (one at a time per email;
/// unconfirmed requests block nobody).
pub fn open_for_email(conn: &mut DbConn, normalized: &str) -> QueryResult<Option<AccessRequest>> {
    r::table
        .filter(r::contact_email_normalized.eq(normalized))
        .filter(r::confirmed_at.is_not_null())
        .filter(r::kind.eq(RequestKind::NewAccount))
        .filter(r::status.eq_any(RequestStatus::OPEN))
        .select(AccessRequest::as_select())
        .first(conn)
        .optional()
}

pub fn count_from_ip_since(conn: &mut DbConn, ip: &str, since: NaiveDateTime) -> QueryResult<i64> {
    r::table
        .filter(r::client_ip.eq(ip))
        .filter(r::created_at.gt(since))
        .count()
        .get_result(conn)
}

pub fn page(
    conn: &mut DbConn,
    status: Option<RequestStatus>,
    search: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AccessRequest>, i64)> {
    let build = || {
        let mut q = r::table.filter(r::confirmed_at.is_not_null()).into_boxed();
        if let Some(s) = status {
            q = q.filter(r::status.eq(s));
        }
        if let Some(s) = search {
            let pattern = crate::db::contains_pattern(s);
            q = q.filter(
                r::contact_email_normalized
                    .like(pattern.clone())
                    .escape('\\')
                    .or(super::audit::lower(r::company_name)
                        .like(pattern.clone())
                        .escape('\\'))
                    .or(super::audit::lower(r::app_name).like(pattern).escape('\\')),
            );
        }
        q
    };
    let total = build().count().get_result(conn)?;
    let rows = build()
        .select(AccessRequest::as_select())
        .order((r::created_at.asc(), r::id.asc()))
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    Ok((rows, total))
}

pub fn count_by_status(conn: &mut DbConn, status: RequestStatus) -> QueryResult<i64> {
    r::table
        .filter(r::status.eq(status))
        .filter(r::confirmed_at.is_not_null())
        .count()
        .get_result(conn)
}

/// Moves an open request to `to`, only if its status is still one of `from` (open statuses).
/// Returns whether this call won: of two admins deciding at once, exactly one sees `true`.
pub fn decide(
    conn: &mut DbConn,
    id: &str,
    to: RequestStatus,
    by: &str,
    reason: Option<&str>,
    from: &[RequestStatus],
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let from: Vec<RequestStatus> = from.iter().copied().filter(|s| s.is_open()).collect();
    let n = diesel::update(
        r::table
            .find(id)
            .filter(r::status.eq_any(from))
            .filter(r::confirmed_at.is_not_null()),
    )
    .set((
        r::status.eq(to),
        r::decided_at.eq(now),
        r::decided_by_user_id.eq(by),
        r::rejection_reason.eq(reason),
        r::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Unconfirmed → confirmed (the request enters the queue). Returns the confirmed request when
/// this call did it.
pub fn confirm(
    conn: &mut DbConn,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<AccessRequest>> {
    diesel::update(r::table.find(id).filter(r::confirmed_at.is_null()))
        .set((r::confirmed_at.eq(now), r::updated_at.eq(now)))
        .returning(super::returning::<AccessRequest>())
        .get_result(conn)
        .optional()
}

/// Pending → info requested (only from pending, only a confirmed request).
pub fn ask_for_info(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        r::table
            .find(id)
            .filter(r::status.eq(RequestStatus::Pending))
            .filter(r::confirmed_at.is_not_null()),
    )
    .set((
        r::status.eq(RequestStatus::InfoRequested),
        r::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Info requested → pending, when the requester answers.
pub fn back_to_queue(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        r::table
            .find(id)
            .filter(r::status.eq(RequestStatus::InfoRequested)),
    )
    .set((r::status.eq(RequestStatus::Pending), r::updated_at.eq(now)))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn link_result(
    conn: &mut DbConn,
    id: &str,
    account_id: &str,
    integration_id: &str,
) -> QueryResult<usize> {
    diesel::update(r::table.find(id))
        .set((
            r::account_id.eq(account_id),
            r::integration_id.eq(integration_id),
        ))
        .execute(conn)
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = m)]
pub struct RequestMessage {
    pub id: String,
    pub request_id: String,
    pub author: MessageAuthor,
    pub author_user_id: Option<String>,
    pub body: String,
    pub created_at: NaiveDateTime,
}

pub fn add_message(
    conn: &mut DbConn,
    request_id: &str,
    author: MessageAuthor,
    author_user_id: Option<&str>,
    body: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(m::table)
        .values((
            m::id.eq(crate::db::new_id()),
            m::request_id.eq(request_id),
            m::author.eq(author),
            m::author_user_id.eq(author_user_id),
            m::body.eq(body),
            m::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn messages(conn: &mut DbConn, request_id: &str) -> QueryResult<Vec<RequestMessage>> {
    m::table
        .filter(m::request_id.eq(request_id))
        .order((m::created_at.asc(), m::id.asc()))
        .select(RequestMessage::as_select())
        .load(conn)
}
