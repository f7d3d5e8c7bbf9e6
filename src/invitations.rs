//! Invitations, one implementation for the three kinds: a colleague to a developer account's
//! team, an admin to an event organization, a ConCat administrator. An invitation grants
//! nothing until the invited person accepts it from the emailed link (7 days); it may be
//! withdrawn before that. Until then the inviter sees only the email and the name they typed,
//! whether or not the email has an account: the answer, the page and the email (apart from
//! the link's path) are the same either way.
//!
//! The link is a `TokenPurpose::Invitation` one-time token whose `subject_id` is the
//! invitation. Someone with an account opens `/invitations/{token}`, signs in as the invited
//! email and presses Accept; anyone else gets `/set-password/{token}`, chooses a password and
//! so creates the account and accepts. Both pages decide again when opened, so a link still
//! works if an account was created meanwhile.

use chrono::NaiveDateTime;

use crate::audit::Actor;
use crate::auth::accounts::{insert_user, CreateUserError};
use crate::context::Context;
use crate::db::models::developer_accounts::MemberRole;
use crate::db::models::invitations::{
    self as inv, Invitation, InvitationStatus, Kind, NewInvitation,
};
use crate::db::models::users::{self, User};
use crate::db::models::{developer_accounts as accounts, organizations, tokens};
use crate::db::{lock_key, new_id, DbConn};
use crate::domain::{DisplayName, EmailAddress, OneTimeToken, TokenPurpose};
use crate::email::messages::Invitation as InvitationEmail;
use crate::email::outbox;
use crate::settings::Settings;

/// Where an invitation leads: its kind and the account or organization (none for ConCat
/// admins). Routes build it from the object they authorized, so an invitation of another
/// account or organization is never found through them.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub kind: Kind,
    pub target_id: Option<&'a str>,
}

/// Who is invited, as what.
pub struct NewInvite<'a> {
    pub scope: Scope<'a>,
    /// For a developer account.
    pub role: Option<MemberRole>,
    pub email: &'a EmailAddress,
    /// The name the inviter typed; the only name the inviter ever sees until acceptance.
    pub name: &'a DisplayName,
    /// What the invitation is for, in the email: "an administrator of Acme Events".
    pub role_label: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// The person already has what the invitation would give (visible to the inviter anyway:
    /// members, admins and users are listed on the inviter's page).
    #[error("already a member")]
    AlreadyMember,
    #[error("an invitation to this email is already pending")]
    AlreadyInvited,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for InviteError {
    fn from(e: diesel::result::Error) -> Self {
        InviteError::Other(e.into())
    }
}

fn already_has(conn: &mut DbConn, scope: Scope<'_>, user: &User) -> anyhow::Result<bool> {
    Ok(match (scope.kind, scope.target_id) {
        (Kind::DeveloperAccount, Some(account)) => {
            accounts::role_of(conn, account, &user.id)?.is_some()
        }
        (Kind::Organization, Some(org)) => organizations::admins(conn, org)?
            .iter()
            .any(|(id, ..)| *id == user.id),
        (Kind::ConcatAdmin, None) => user.is_concat_admin,
        _ => anyhow::bail!("invitation scope without its target"),
    })
}

/// Records a pending invitation and emails its link; audited as `invitation.invited`.
pub fn invite(
    conn: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    new: &NewInvite<'_>,
    by: &User,
) -> Result<String, InviteError> {
    let now = ctx.now;
    let normalized = new.email.normalized();
    let scope = new.scope;
    lock_key(
        conn,
        &format!(
            "invitation:{}:{}:{normalized}",
            scope.kind.as_str(),
            scope.target_id.unwrap_or("")
        ),
    )?;
    let existing = users::find_by_email(conn, &normalized)?;
    if let Some(user) = &existing {
        if already_has(conn, scope, user)? {
            return Err(InviteError::AlreadyMember);
        }
    }
    if inv::pending_for(conn, scope.kind, scope.target_id, now)?
        .iter()
        .any(|i| i.email_normalized == normalized)
    {
        return Err(InviteError::AlreadyInvited);
    }
    let id = new_id();
    let lifetime = TokenPurpose::Invitation
        .lifetime()
        .expect("invitation links expire");
    inv::insert(
        conn,
        &NewInvitation {
            id: &id,
            kind: scope.kind,
            target_id: scope.target_id,
            role: new.role,
            email: new.email.as_str(),
            email_normalized: &normalized,
            name: new.name.as_str(),
            status: InvitationStatus::Pending,
            invited_by_user_id: Some(&by.id),
            created_at: now,
            expires_at: now + lifetime,
        },
    )?;
    let token = OneTimeToken::generate();
    let digest = token.digest();
    tokens::insert_for(
        conn,
        &digest,
        TokenPurpose::Invitation,
        None,
        Some(&id),
        now,
    )?;
    // Someone who can sign in accepts after signing in; anyone else sets a password. Only the
    // invited person sees the link; the inviter sees the same answer either way.
    let path = if existing.is_some_and(|u| u.password_hash.is_some()) {
        "/invitations"
    } else {
        "/set-password"
    };
    let message = InvitationEmail {
        name: new.name.to_string(),
        invited_by: by.display_name.clone(),
        role: new.role_label.to_string(),
        link: settings.link(&format!("{path}/{}", token.expose())),
    };
    outbox::enqueue(
        conn,
        new.email.as_str(),
        &message,
        &format!("invitation:{digest}"),
        now,
    )?;
    ctx.audit("invitation.invited")
        .target("invitation", &id)
        .details(serde_json::json!({
            "kind": scope.kind,
            "target": scope.target_id,
            "role": new.role,
            "email": new.email.as_str(),
        }))
        .record(conn, now)?;
    Ok(id)
}

/// The pending, unexpired invitations an inviter's page lists.
pub fn pending(
    conn: &mut DbConn,
    scope: Scope<'_>,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<Invitation>> {
    Ok(inv::pending_for(conn, scope.kind, scope.target_id, now)?)
}

#[derive(Debug, thiserror::Error)]
pub enum WithdrawError {
    /// Not an invitation of this scope (another account's or organization's: 404).
    #[error("no such invitation")]
    NotFound,
    /// Accepted, withdrawn already, or expired.
    #[error("the invitation is no longer pending")]
    NotPending,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for WithdrawError {
    fn from(e: diesel::result::Error) -> Self {
        WithdrawError::Other(e.into())
    }
}

/// Withdraws a pending invitation of this scope: its link stops working. Audited as
/// `invitation.withdrawn`.
pub fn withdraw(
    conn: &mut DbConn,
    ctx: &Context,
    scope: Scope<'_>,
    id: &str,
) -> Result<Invitation, WithdrawError> {
    let now = ctx.now;
    let (by, _) = ctx.acting_user()?;
    let invitation =
        inv::find_in(conn, id, scope.kind, scope.target_id)?.ok_or(WithdrawError::NotFound)?;
    if invitation.is_expired(now) || !inv::decide(conn, id, InvitationStatus::Withdrawn, by, now)? {
        return Err(WithdrawError::NotPending);
    }
    ctx.audit("invitation.withdrawn")
        .target("invitation", id)
        .details(serde_json::json!({
            "kind": invitation.kind,
            "target": invitation.target_id,
            "email": invitation.email.as_str(),
        }))
        .record(conn, now)?;
    Ok(invitation)
}

/// What an invitation link leads to, whatever its state, so the page can say what happened.
#[derive(Debug)]
pub enum Link {
    Pending {
        invitation: Box<Invitation>,
        /// The account of the invited email, if there is one.
        account: Option<User>,
    },
    Accepted,
    Withdrawn,
    Expired,
    /// Not an invitation link (or an older set-password link, which `links` handles).
    Unknown,
}

/// Looks an invitation link up.
pub fn link(conn: &mut DbConn, token: &OneTimeToken, now: NaiveDateTime) -> anyhow::Result<Link> {
    let Some(row) = tokens::find(conn, &token.digest(), TokenPurpose::Invitation)? else {
        return Ok(Link::Unknown);
    };
    let Some(invitation) = (match &row.subject_id {
        Some(id) => inv::find(conn, id)?,
        None => None,
    }) else {
        return Ok(Link::Unknown);
    };
    Ok(match invitation.status {
        InvitationStatus::Accepted => Link::Accepted,
        InvitationStatus::Withdrawn => Link::Withdrawn,
        _ if row.used_at.is_some() => Link::Accepted,
        _ if invitation.is_expired(now) || row.expires_at.is_some_and(|at| at <= now) => {
            Link::Expired
        }
        _ => {
            let account = users::find_by_email(conn, &invitation.email_normalized)?;
            Link::Pending {
                invitation: Box::new(invitation),
                account,
            }
        }
    })
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("the invitation link is not valid")]
    Unknown,
    #[error("the invitation was already accepted")]
    Accepted,
    #[error("the invitation was withdrawn")]
    Withdrawn,
    #[error("the invitation has expired")]
    Expired,
    /// The signed-in user is not the invited email.
    #[error("the invitation is for another email address")]
    WrongUser,
    /// The invited email has an account that cannot be used (suspended).
    #[error("the invited account is suspended")]
    Suspended,
    /// The invited email has an account with a password: sign in and accept instead.
    #[error("sign in to accept")]
    SignInFirst,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AcceptError {
    fn from(e: diesel::result::Error) -> Self {
        AcceptError::Other(e.into())
    }
}

fn pending_link(
    conn: &mut DbConn,
    token: &OneTimeToken,
    now: NaiveDateTime,
) -> Result<(Invitation, Option<User>), AcceptError> {
    match link(conn, token, now)? {
        Link::Pending {
            invitation,
            account,
        } => Ok((*invitation, account)),
        Link::Accepted => Err(AcceptError::Accepted),
        Link::Withdrawn => Err(AcceptError::Withdrawn),
        Link::Expired => Err(AcceptError::Expired),
        Link::Unknown => Err(AcceptError::Unknown),
    }
}

/// Grants what the invitation is for and marks it accepted (single use).
fn grant(
    conn: &mut DbConn,
    ctx: &Context,
    token: &OneTimeToken,
    invitation: &Invitation,
    user: &User,
) -> Result<(), AcceptError> {
    let now = ctx.now;
    if !tokens::consume(conn, &token.digest(), TokenPurpose::Invitation, now)?
        || !inv::decide(
            conn,
            &invitation.id,
            InvitationStatus::Accepted,
            &user.id,
            now,
        )?
    {
        return Err(AcceptError::Accepted);
    }
    match (invitation.kind, invitation.target_id.as_deref()) {
        (Kind::DeveloperAccount, Some(account)) => {
            let role = invitation.role.unwrap_or(MemberRole::Member);
            accounts::add_member(conn, account, &user.id, role, now)?;
        }
        (Kind::Organization, Some(org)) => {
            organizations::add_admin(conn, org, &user.id, now)?;
        }
        (Kind::ConcatAdmin, None) => {
            users::make_concat_admin(conn, &user.id, now)?;
        }
        _ => {
            return Err(AcceptError::Other(anyhow::anyhow!(
                "invitation {} has no valid scope",
                invitation.id
            )))
        }
    }
    ctx.audit_as("invitation.accepted", Actor::from(user))
        .target("invitation", &invitation.id)
        .details(serde_json::json!({
            "kind": invitation.kind,
            "target": invitation.target_id,
            "role": invitation.role,
            "user": user.id,
        }))
        .record(conn, now)?;
    Ok(())
}

/// A signed-in user accepts: the invitation must be pending and unexpired, and for the
/// user's own email address.
pub fn accept(
    conn: &mut DbConn,
    ctx: &Context,
    token: &OneTimeToken,
    user: &User,
) -> Result<Invitation, AcceptError> {
    let now = ctx.now;
    let (invitation, _) = pending_link(conn, token, now)?;
    if user.email_normalized != invitation.email_normalized {
        return Err(AcceptError::WrongUser);
    }
    if !user.is_active() {
        return Err(AcceptError::Suspended);
    }
    grant(conn, ctx, token, &invitation, user)?;
    Ok(invitation)
}

/// Someone without a password accepts by choosing one (the set-password link): the account is
/// created (with the name the inviter typed) or, when it exists without a password, given one.
/// Returns the user, who then signs in.
pub fn accept_with_password(
    conn: &mut DbConn,
    ctx: &Context,
    token: &OneTimeToken,
    password_hash: &str,
) -> Result<User, AcceptError> {
    let now = ctx.now;
    let (invitation, account) = pending_link(conn, token, now)?;
    let user = match account {
        Some(u) if u.password_hash.is_some() => return Err(AcceptError::SignInFirst),
        Some(u) if !u.is_active() => return Err(AcceptError::Suspended),
        Some(u) => {
            users::set_password(conn, &u.id, password_hash, now)?;
            u
        }
        None => {
            let (email, name) = (&invitation.email, &invitation.name);
            match insert_user(conn, email, name, Some(password_hash), false, now) {
                Ok(u) => u,
                // Created meanwhile (another invitation accepted at the same moment).
                Err(CreateUserError::EmailTaken(_)) => return Err(AcceptError::SignInFirst),
                Err(CreateUserError::Db(e)) => return Err(e.into()),
                Err(CreateUserError::Other(e)) => return Err(e.into()),
            }
        }
    };
    ctx.audit_as("password.set_from_invitation", Actor::from(&user))
        .target("user", &user.id)
        .record(conn, now)?;
    grant(conn, ctx, token, &invitation, &user)?;
    // The link proved the address: the handler starts the session, which is a sign-in.
    ctx.audit_as("login.succeeded", Actor::from(&user))
        .target("user", &user.id)
        .details(serde_json::json!({ "via": "invitation link" }))
        .record(conn, now)?;
    // As now stored (a new session version), to start their session.
    Ok(users::find(conn, &user.id)?.unwrap_or(user))
}

/// What an invitation is for, for its page ("an owner of Ticketly Ltd's developer account"),
/// and where the accepted user lands.
pub fn describe(conn: &mut DbConn, invitation: &Invitation) -> anyhow::Result<(String, String)> {
    Ok(match (invitation.kind, invitation.target_id.as_deref()) {
        (Kind::DeveloperAccount, Some(id)) => {
            let company = accounts::find(conn, id)?
                .map(|a| a.company_name)
                .unwrap_or_default();
            let role = if invitation.role == Some(MemberRole::Owner) {
                "an owner"
            } else {
                "a member"
            };
            (
                format!("{role} of {company}'s developer account"),
                format!("/developer/accounts/{id}/team"),
            )
        }
        (Kind::Organization, Some(id)) => match organizations::find(conn, id)? {
            Some(o) => (
                format!("an administrator of {}", o.name),
                format!("/org/{}", o.public_id),
            ),
            None => ("an organization administrator".into(), "/org".into()),
        },
        _ => ("a ConCat administrator".into(), "/admin".into()),
    })
}
