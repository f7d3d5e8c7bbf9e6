//! The invitation-only access workflow: a request is submitted, reviewed (approve, reject, ask
//! for more information) and, on approval, becomes a developer account, a user and an
//! integration — all in the transaction of the decision, with its emails in the outbox and its
//! audit entries beside them. Handlers parse input and call these functions inside
//! `db::transaction`.

use chrono::NaiveDateTime;

use crate::audit::Actor;
use crate::auth::accounts::insert_user;
use crate::context::Context;
use crate::db::models::access_requests::{
    self as requests, AccessRequest, MessageAuthor, NewAccessRequest, RequestKind, RequestStatus,
};
use crate::db::models::developer_accounts::MemberRole;
use crate::db::models::integrations::{self, IntegrationStatus, NewIntegration};
use crate::db::models::users::{self, User};
use crate::db::models::{developer_accounts as accounts, tokens};
use crate::db::{lock_key, new_id, DbConn};
use crate::domain::{
    ApiId, AppName, CompanyName, DisplayName, EmailAddress, EventCustomers, Message, OneTimeToken,
    Phone, TokenPurpose, UseCase, Website,
};
use crate::email::messages::{
    AccessApproved, AccessInfoRequested, AccessRejected, AccessRequestAdminNotice,
    AccessRequestReceived, IntegrationApproved,
};
use crate::email::outbox;
use crate::settings::Settings;

/// At most this many access requests per client address per hour.
pub const REQUESTS_PER_IP_PER_HOUR: i64 = 5;

/// A parsed "request access" form.
#[derive(Debug)]
pub struct NewRequest {
    pub name: DisplayName,
    pub company: CompanyName,
    pub website: Website,
    pub email: EmailAddress,
    pub phone: Option<Phone>,
    pub app_name: AppName,
    pub use_case: UseCase,
    pub customers: EventCustomers,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Recorded, unconfirmed: the requester was emailed the confirmation link.
    Submitted(String),
    /// This email already has a confirmed request under review.
    AlreadyPending,
    RateLimited,
}

fn notify_admins(
    conn: &mut DbConn,
    settings: &Settings,
    request: &AccessRequest,
    event: &'static str,
    dedup: &str,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    outbox::enqueue_each(users::admin_emails(conn)?, conn, dedup, now, |admin_name| {
        AccessRequestAdminNotice {
            admin_name,
            requester_name: request.requester_name.to_string(),
            company_name: request.company_name.clone(),
            app_name: request.app_name.clone(),
            event,
            link: settings.link(&format!("/admin/requests/{}", request.id)),
        }
    })?;
    Ok(())
}

/// Records a new request from outside, unconfirmed, and emails the requester a single-use
/// confirmation link (48 hours). Admins are told nothing until it is confirmed ([`confirm`]);
/// an unconfirmed request blocks nobody, so a second unconfirmed submission for the same email
/// is accepted with its own link. Only a *confirmed* open request refuses another.
pub fn submit(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    req: &NewRequest,
) -> anyhow::Result<SubmitOutcome> {
    let now = ctx.now;
    let normalized = req.email.normalized();
    // Checks and insert under locks, so parallel submits cannot slip past either limit.
    lock_key(conn, &format!("access:ip:{}", ctx.client_ip()))?;
    lock_key(conn, &format!("access:email:{normalized}"))?;
    if requests::count_from_ip_since(conn, ctx.client_ip(), now - chrono::Duration::hours(1))?
        >= REQUESTS_PER_IP_PER_HOUR
    {
        return Ok(SubmitOutcome::RateLimited);
    }
    if requests::open_for_email(conn, &normalized)?.is_some() {
        return Ok(SubmitOutcome::AlreadyPending);
    }
    let id = new_id();
    let customers = req.customers.to_lines();
    requests::insert(
        conn,
        &NewAccessRequest {
            id: &id,
            kind: RequestKind::NewAccount,
            status: RequestStatus::Pending,
            requester_name: req.name.as_str(),
            company_name: req.company.as_str(),
            website: req.website.as_str(),
            contact_email: req.email.as_str(),
            contact_email_normalized: &normalized,
            phone: req.phone.as_ref().map(Phone::as_str),
            app_name: req.app_name.as_str(),
            use_case: req.use_case.as_str(),
            event_customers: &customers,
            account_id: None,
            requested_by_user_id: None,
            client_ip: ctx.client_ip(),
            created_at: now,
            updated_at: now,
            confirmed_at: None,
        },
    )?;
    let token = OneTimeToken::generate();
    tokens::insert_for(
        conn,
        &token.digest(),
        TokenPurpose::AccessConfirmation,
        None,
        Some(&id),
        now,
    )?;
    outbox::enqueue(
        conn,
        req.email.as_str(),
        &AccessRequestReceived {
            name: req.name.to_string(),
            app_name: req.app_name.to_string(),
            link: settings.link(&format!("/access-requests/confirm/{}", token.expose())),
        },
        &format!("access_received:{id}"),
        now,
    )?;
    ctx.audit_as(
        "access_request.submitted",
        Actor::Anonymous(req.email.as_str()),
    )
    .target("access_request", &id)
    .details(serde_json::json!({ "company": req.company.as_str(), "app": req.app_name.as_str(), "confirmed": false }))
    .record(conn, now)?;
    Ok(SubmitOutcome::Submitted(id))
}

/// What a confirmation link leads to.
#[derive(Debug)]
pub enum ConfirmLink {
    /// Valid: the unconfirmed request it confirms.
    Valid(Box<AccessRequest>),
    /// Already used: the request was confirmed.
    Used,
    /// Unused but past its 48 hours: the request will never be reviewed.
    Expired,
    /// Not one of ours.
    Unknown,
}

/// Looks a confirmation link up, whatever its state, so the page can say what happened.
pub fn confirmation_link(
    conn: &mut DbConn,
    token: &OneTimeToken,
    now: NaiveDateTime,
) -> anyhow::Result<ConfirmLink> {
    let Some(row) = tokens::find(conn, &token.digest(), TokenPurpose::AccessConfirmation)? else {
        return Ok(ConfirmLink::Unknown);
    };
    let Some(request) = (match &row.subject_id {
        Some(id) => requests::find(conn, id)?,
        None => None,
    }) else {
        return Ok(ConfirmLink::Unknown);
    };
    if row.used_at.is_some() || request.confirmed_at.is_some() {
        return Ok(ConfirmLink::Used);
    }
    if row.expires_at.is_some_and(|at| at <= now) {
        return Ok(ConfirmLink::Expired);
    }
    Ok(ConfirmLink::Valid(Box::new(request)))
}

#[derive(Debug, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// The request is in the queue; admins were notified.
    Confirmed,
    /// The link was used already (the request is confirmed) or is not ours.
    Used,
    Expired,
    /// Another confirmed request for this email is still under review; this one stays
    /// unconfirmed (its link keeps working until it expires).
    AlreadyPending,
}

/// The requester confirms their email: the request enters the admin queue, every ConCat admin
/// is notified, and from now on it counts toward "one open request per email". Single use.
pub fn confirm(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    token: &OneTimeToken,
) -> anyhow::Result<ConfirmOutcome> {
    let now = ctx.now;
    let request = match confirmation_link(conn, token, now)? {
        ConfirmLink::Valid(r) => r,
        ConfirmLink::Used | ConfirmLink::Unknown => return Ok(ConfirmOutcome::Used),
        ConfirmLink::Expired => return Ok(ConfirmOutcome::Expired),
    };
    lock_key(
        conn,
        &format!("access:email:{}", request.contact_email_normalized),
    )?;
    if requests::open_for_email(conn, &request.contact_email_normalized)?.is_some() {
        return Ok(ConfirmOutcome::AlreadyPending);
    }
    if !tokens::consume(conn, &token.digest(), TokenPurpose::AccessConfirmation, now)? {
        return Ok(ConfirmOutcome::Used);
    }
    let Some(request) = requests::confirm(conn, &request.id, now)? else {
        return Ok(ConfirmOutcome::Used);
    };
    notify_admins(
        conn,
        settings,
        &request,
        "new",
        &format!("access_admin_new:{}", request.id),
        now,
    )?;
    ctx.audit_as(
        "access_request.confirmed",
        Actor::Anonymous(request.contact_email.as_str()),
    )
    .target("access_request", &request.id)
    .record(conn, now)?;
    Ok(ConfirmOutcome::Confirmed)
}

/// A parsed "request another integration" form.
#[derive(Debug)]
pub struct AdditionalIntegration {
    pub app_name: AppName,
    pub use_case: UseCase,
}

/// An owner of a developer account asks for another integration; it goes through the queue.
pub fn submit_additional(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    owner: &User,
    account: &accounts::DeveloperAccount,
    wanted: &AdditionalIntegration,
) -> anyhow::Result<String> {
    let now = ctx.now;
    let (app_name, use_case) = (&wanted.app_name, &wanted.use_case);
    let id = new_id();
    let request = requests::insert(
        conn,
        &NewAccessRequest {
            id: &id,
            kind: RequestKind::Additional,
            status: RequestStatus::Pending,
            requester_name: &owner.display_name,
            company_name: &account.company_name,
            website: &account.website,
            contact_email: &owner.email,
            contact_email_normalized: &owner.email_normalized,
            phone: None,
            app_name: app_name.as_str(),
            use_case: use_case.as_str(),
            event_customers: "",
            account_id: Some(&account.id),
            requested_by_user_id: Some(&owner.id),
            client_ip: ctx.client_ip(),
            created_at: now,
            updated_at: now,
            // A signed-in owner's request needs no email confirmation.
            confirmed_at: Some(now),
        },
    )?;
    notify_admins(
        conn,
        settings,
        &request,
        "new",
        &format!("access_admin_new:{id}"),
        now,
    )?;
    ctx.audit_as("access_request.submitted", Actor::from(owner))
        .target("access_request", &id)
        .details(serde_json::json!({ "kind": RequestKind::Additional, "account": account.id, "app": app_name.as_str() }))
        .record(conn, now)?;
    Ok(id)
}

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("no such request")]
    NotFound,
    /// Someone acted first (or the request is not in a state that allows this action); holds
    /// the request's status now.
    #[error("the request is already {0}")]
    AlreadyDecided(RequestStatus),
    /// The action is not possible for this request; the message says why.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for DecisionError {
    fn from(e: diesel::result::Error) -> Self {
        DecisionError::Other(e.into())
    }
}

/// The request a decision is about, and the status the deciding admin saw. A decision made on
/// a stale page (someone else asked a question or decided meanwhile) changes nothing.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub id: &'a str,
    /// `None`: any open status will do.
    pub seen_status: Option<&'a str>,
}

impl Target<'_> {
    fn allowed_from(&self) -> Result<Vec<RequestStatus>, ()> {
        match self.seen_status.map(str::parse::<RequestStatus>) {
            None => Ok(RequestStatus::OPEN.to_vec()),
            Some(Ok(s)) if s.is_open() => Ok(vec![s]),
            Some(_) => Err(()),
        }
    }
}

/// A request admins may act on: unconfirmed requests do not exist for them.
fn load(conn: &mut DbConn, id: &str) -> Result<AccessRequest, DecisionError> {
    requests::find_confirmed(conn, id)?.ok_or(DecisionError::NotFound)
}

fn already(conn: &mut DbConn, id: &str) -> DecisionError {
    match requests::find(conn, id) {
        Ok(Some(r)) => DecisionError::AlreadyDecided(r.status),
        Ok(None) => DecisionError::NotFound,
        Err(e) => e.into(),
    }
}

/// What an approval created.
#[derive(Debug)]
pub struct Approved {
    pub account_id: String,
    pub integration_id: String,
    pub api_id: String,
}

/// Approves an open request. Exactly one of two concurrent approvals wins (a guarded update);
/// the loser gets `AlreadyDecided` and its transaction changes nothing.
pub fn approve(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    target: &Target<'_>,
) -> Result<Approved, DecisionError> {
    let now = ctx.now;
    let (admin_id, _) = ctx.acting_user()?;
    let id = target.id;
    let request = load(conn, id)?;
    let from = target.allowed_from().map_err(|_| already(conn, id))?;
    if request.kind == RequestKind::NewAccount {
        let existing = users::find_by_email(conn, &request.contact_email_normalized)?;
        if existing.is_some_and(|u| !u.is_active()) {
            return Err(DecisionError::Refused(
                "This email belongs to a suspended account. Reactivate the account first, or reject the request.".into(),
            ));
        }
    }
    if !requests::decide(
        conn,
        id,
        RequestStatus::Approved,
        admin_id,
        None,
        &from,
        now,
    )? {
        return Err(already(conn, id));
    }
    let account_id = match &request.account_id {
        Some(existing) => existing.clone(),
        None => {
            let account_id = new_id();
            accounts::insert(
                conn,
                &account_id,
                &request.company_name,
                &request.website,
                now,
            )?;
            account_id
        }
    };
    let integration_id = new_id();
    let api_id = ApiId::generate();
    integrations::insert(
        conn,
        &NewIntegration {
            id: &integration_id,
            account_id: &account_id,
            api_id: api_id.as_str(),
            display_name: &request.app_name,
            description: &request.use_case,
            status: IntegrationStatus::Active,
            created_at: now,
            approved_by_user_id: Some(admin_id),
            activity_at: now,
        },
    )?;
    requests::link_result(conn, id, &account_id, &integration_id)?;

    if request.kind == RequestKind::Additional {
        let requester = match &request.requested_by_user_id {
            Some(uid) => users::find(conn, uid)?,
            None => None,
        };
        if let Some(user) = requester {
            let message = IntegrationApproved {
                name: user.display_name.clone(),
                app_name: request.app_name.clone(),
                api_id: api_id.to_string(),
                link: settings.link(&format!("/developer/integrations/{integration_id}")),
            };
            outbox::enqueue(
                conn,
                &user.email,
                &message,
                &format!("access_approved:{id}"),
                now,
            )?;
        }
    } else {
        let user = match users::find_by_email(conn, &request.contact_email.normalized())? {
            Some(u) => u,
            None => insert_user(
                conn,
                &request.contact_email,
                &request.requester_name,
                None,
                false,
                now,
            )
            .map_err(|e| anyhow::anyhow!("creating the developer: {e}"))?,
        };
        accounts::add_member(conn, &account_id, &user.id, MemberRole::Owner, now)?;
        let token = OneTimeToken::generate();
        tokens::insert_for(
            conn,
            &token.digest(),
            TokenPurpose::Credentials,
            Some(&user.id),
            Some(&integration_id),
            now,
        )?;
        let message = AccessApproved {
            name: user.display_name.clone(),
            app_name: request.app_name.clone(),
            api_id: api_id.to_string(),
            link: settings.link(&format!("/welcome/{}", token.expose())),
            existing_user: user.password_hash.is_some(),
        };
        outbox::enqueue(
            conn,
            &user.email,
            &message,
            &format!("access_approved:{id}"),
            now,
        )?;
    }
    ctx.audit("access_request.approved")
        .target("access_request", id)
        .details(serde_json::json!({ "account": account_id, "integration": integration_id, "api_id": api_id.as_str() }))
        .record(conn, now)?;
    ctx.audit("integration.created")
        .target("integration", &integration_id)
        .details(serde_json::json!({ "api_id": api_id.as_str(), "account": account_id }))
        .record(conn, now)?;
    Ok(Approved {
        account_id,
        integration_id,
        api_id: api_id.to_string(),
    })
}

/// Rejects an open request; the reason goes into the email.
pub fn reject(
    conn: &mut DbConn,
    ctx: &Context,
    target: &Target<'_>,
    reason: &Message,
) -> Result<(), DecisionError> {
    let now = ctx.now;
    let (admin_id, _) = ctx.acting_user()?;
    let id = target.id;
    let request = load(conn, id)?;
    let from = target.allowed_from().map_err(|_| already(conn, id))?;
    if !requests::decide(
        conn,
        id,
        RequestStatus::Rejected,
        admin_id,
        Some(reason.as_str()),
        &from,
        now,
    )? {
        return Err(already(conn, id));
    }
    let message = AccessRejected {
        name: request.requester_name.to_string(),
        app_name: request.app_name.clone(),
        reason: reason.to_string(),
    };
    outbox::enqueue(
        conn,
        request.contact_email.as_str(),
        &message,
        &format!("access_rejected:{id}"),
        now,
    )?;
    ctx.audit("access_request.rejected")
        .target("access_request", id)
        .details(serde_json::json!({ "reason": reason.as_str() }))
        .record(conn, now)?;
    Ok(())
}

/// Asks the requester for more information; they answer through a single-use link.
pub fn ask_for_info(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    id: &str,
    question: &Message,
) -> Result<(), DecisionError> {
    let now = ctx.now;
    let (admin_id, _) = ctx.acting_user()?;
    let request = load(conn, id)?;
    if !requests::ask_for_info(conn, id, now)? {
        return Err(already(conn, id));
    }
    requests::add_message(
        conn,
        id,
        MessageAuthor::Admin,
        Some(admin_id),
        question.as_str(),
        now,
    )?;
    let token = OneTimeToken::generate();
    tokens::insert_for(
        conn,
        &token.digest(),
        TokenPurpose::InfoResponse,
        None,
        Some(id),
        now,
    )?;
    let message = AccessInfoRequested {
        name: request.requester_name.to_string(),
        app_name: request.app_name.clone(),
        message: question.to_string(),
        link: settings.link(&format!("/access-requests/respond/{}", token.expose())),
    };
    outbox::enqueue(
        conn,
        request.contact_email.as_str(),
        &message,
        &format!("access_info:{}", token.digest()),
        now,
    )?;
    ctx.audit("access_request.info_requested")
        .target("access_request", id)
        .details(serde_json::json!({ "question": question.as_str() }))
        .record(conn, now)?;
    Ok(())
}

/// The request an answer link belongs to, while the link is valid and the request waits for it.
pub fn request_for_answer(
    conn: &mut DbConn,
    token: &OneTimeToken,
    now: NaiveDateTime,
) -> anyhow::Result<Option<AccessRequest>> {
    let Some(row) = tokens::find_valid(conn, &token.digest(), TokenPurpose::InfoResponse, now)?
    else {
        return Ok(None);
    };
    let Some(id) = row.subject_id else {
        return Ok(None);
    };
    Ok(requests::find(conn, &id)?.filter(|r| r.status == RequestStatus::InfoRequested))
}

/// The requester's answer: recorded, the request goes back to the queue, admins are told.
/// Returns false when the link was already used or the request is no longer waiting.
pub fn answer(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    token: &OneTimeToken,
    body: &Message,
) -> anyhow::Result<bool> {
    let now = ctx.now;
    let Some(request) = request_for_answer(conn, token, now)? else {
        return Ok(false);
    };
    if !tokens::consume(conn, &token.digest(), TokenPurpose::InfoResponse, now)?
        || !requests::back_to_queue(conn, &request.id, now)?
    {
        return Ok(false);
    }
    requests::add_message(
        conn,
        &request.id,
        MessageAuthor::Requester,
        None,
        body.as_str(),
        now,
    )?;
    notify_admins(
        conn,
        settings,
        &request,
        "answered",
        &format!("access_admin_answered:{}", token.digest()),
        now,
    )?;
    ctx.audit_as(
        "access_request.answered",
        Actor::Anonymous(request.contact_email.as_str()),
    )
    .target("access_request", &request.id)
    .record(conn, now)?;
    Ok(true)
}

/// What the approval email's link did (`use_approval_link`).
pub struct Welcomed {
    /// The first API secret, to show once; `None` when the integration already has its
    /// active secrets (the developer made them before using the link) or the account is
    /// suspended.
    pub secret: Option<crate::domain::ApiSecret>,
    pub account_suspended: bool,
    /// The user as now stored (to start their session).
    pub user: User,
}

/// The approval email's link (its digest `digest`): sets the user's password if they had none
/// (`new_hash`), and issues the integration's first secret. `None` when the link is used up or
/// expired.
pub fn use_approval_link(
    c: &mut DbConn,
    ctx: &Context,
    user: &User,
    integration: &crate::db::models::integrations::Integration,
    digest: &str,
    new_hash: Option<&str>,
) -> anyhow::Result<Option<Welcomed>> {
    use crate::auth::api_credentials::{self, IssueError};
    if !tokens::consume(c, digest, TokenPurpose::Credentials, ctx.now)? {
        return Ok(None);
    }
    if let Some(hash) = new_hash {
        users::set_password(c, &user.id, hash, ctx.now)?;
        ctx.audit("password.set_from_invitation")
            .target("user", &user.id)
            .record(c, ctx.now)?;
    }
    let mut account_suspended = false;
    let secret = match api_credentials::issue(c, integration, Some(&user.id), ctx.now) {
        Ok(secret) => {
            ctx.audit("secret.created")
                .target("integration", &integration.id)
                .details(serde_json::json!({ "prefix": secret.prefix(), "via": "approval link" }))
                .record(c, ctx.now)?;
            Some(secret)
        }
        Err(IssueError::Db(e)) => return Err(e.into()),
        Err(IssueError::Other(e)) => return Err(e),
        Err(e) => {
            account_suspended = matches!(e, IssueError::AccountSuspended);
            None
        }
    };
    Ok(users::find(c, &user.id)?.map(|user| Welcomed {
        secret,
        account_suspended,
        user,
    }))
}
