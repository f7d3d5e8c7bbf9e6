//! Invitation links (team, organization admins, ConCat admins). `/invitations/{token}` is for
//! someone who already has an account: sign in as the invited email, then press Accept (a POST
//! with CSRF; never a change on GET). `/set-password/{token}` is for everyone else: choosing a
//! password creates the account and accepts. Both look at the invitation when opened and show
//! the right step, or a clear page when it expired, was withdrawn or was already accepted.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db;
use crate::db::models::invitations::Invitation;
use crate::db::models::users::User;
use crate::domain::OneTimeToken;
use crate::errors::AppError;
use crate::invitations::{self, AcceptError, Link};
use crate::web::forms::{when, FieldErrors};
use crate::web::session::csrf::NoFields;
use crate::web::session::{self, FlashLevel};
use crate::web::session::{CsrfForm, Viewer};
use crate::web::{redirect, render_with, PageContext};

pub enum Step {
    Accept,
    SignIn,
    WrongUser(String),
}

#[derive(Template)]
#[template(path = "invitations/accept.html")]
struct AcceptPage {
    ctx: PageContext,
    action: String,
    email: String,
    invited_by: String,
    what: String,
    expires: String,
    step: Step,
}

#[derive(Template)]
#[template(path = "invitations/link_state.html")]
struct LinkStatePage {
    ctx: PageContext,
    body: &'static str,
}

#[derive(Template)]
#[template(path = "auth/set_password.html")]
struct SetPasswordPage {
    ctx: PageContext,
    action: String,
    email: String,
    errors: FieldErrors,
}

/// A pending invitation, with what the page says about it.
struct Opened {
    invitation: Invitation,
    account: Option<User>,
    invited_by: String,
    what: String,
    landing: String,
}

enum Looked {
    Pending(Box<Opened>),
    Closed(AcceptError),
    /// Not an invitation token: an older set-password link (`links` handles it).
    NotInvitation,
}

async fn look(viewer: &Viewer, raw: &str) -> Result<Looked, AppError> {
    let Some(token) = OneTimeToken::parse(raw) else {
        return Ok(Looked::Closed(AcceptError::Unknown));
    };
    let now = viewer.context.now;
    Ok(db::run(&viewer.state.pool, move |c| {
        Ok(match invitations::link(c, &token, now)? {
            Link::Pending {
                invitation,
                account,
            } => {
                let (what, landing) = invitations::describe(c, &invitation)?;
                let invited_by = match &invitation.invited_by_user_id {
                    Some(id) => crate::db::models::users::find(c, id)?
                        .map(|u| u.display_name)
                        .unwrap_or_else(|| "ConCat".into()),
                    None => "ConCat".into(),
                };
                Looked::Pending(Box::new(Opened {
                    invitation: *invitation,
                    account,
                    invited_by,
                    what,
                    landing,
                }))
            }
            Link::Accepted => Looked::Closed(AcceptError::Accepted),
            Link::Withdrawn => Looked::Closed(AcceptError::Withdrawn),
            Link::Expired => Looked::Closed(AcceptError::Expired),
            Link::Unknown => Looked::NotInvitation,
        })
    })
    .await?)
}

/// Whether this token is an invitation link (rather than an older set-password link).
pub async fn is_invitation(viewer: &Viewer, raw: &str) -> Result<bool, AppError> {
    Ok(!matches!(look(viewer, raw).await?, Looked::NotInvitation))
}

/// The page for a link that cannot be used (any more), and why.
fn closed(viewer: &Viewer, why: &AcceptError) -> Result<HttpResponse, AppError> {
    let (status, title, body) = match why {
        AcceptError::Expired => (
            StatusCode::GONE,
            "Invitation expired",
            "This invitation has expired: invitations are valid for 7 days. Ask the person who invited you to send a new one.",
        ),
        AcceptError::Withdrawn => (
            StatusCode::GONE,
            "Invitation withdrawn",
            "This invitation was withdrawn by the person who sent it, so it can no longer be accepted.",
        ),
        AcceptError::Accepted => (
            StatusCode::NOT_FOUND,
            "Invitation already accepted",
            "This invitation has already been accepted. Sign in to continue.",
        ),
        AcceptError::Suspended => (
            StatusCode::FORBIDDEN,
            "Invitation cannot be accepted",
            "The account of this email address is suspended. Contact ConCat support.",
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This invitation link is not valid. Check that you copied the whole link from the email.",
        ),
    };
    render_with(
        status,
        &LinkStatePage {
            ctx: viewer.page(title),
            body,
        },
    )
}

fn accept_page(
    viewer: &Viewer,
    status: StatusCode,
    raw: &str,
    opened: &Opened,
    step: Step,
) -> Result<HttpResponse, AppError> {
    render_with(
        status,
        &AcceptPage {
            ctx: viewer.page("Accept the invitation"),
            action: format!("/invitations/{raw}"),
            email: opened.invitation.email.to_string(),
            invited_by: opened.invited_by.clone(),
            what: opened.what.clone(),
            expires: when(&opened.invitation.expires_at),
            step,
        },
    )
}

fn set_password_page(
    viewer: &Viewer,
    status: StatusCode,
    raw: &str,
    opened: &Opened,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    render_with(
        status,
        &SetPasswordPage {
            ctx: viewer.page("Set your password"),
            action: format!("/set-password/{raw}"),
            email: opened.invitation.email.to_string(),
            errors,
        },
    )
}

/// The step for someone who can sign in: accept, sign in first, or "wrong account".
fn signed_in_step(viewer: &Viewer, opened: &Opened) -> (StatusCode, Step) {
    match &viewer.user {
        Some(u) if u.email_normalized == opened.invitation.email_normalized => {
            (StatusCode::OK, Step::Accept)
        }
        Some(u) => (StatusCode::FORBIDDEN, Step::WrongUser(u.email.clone())),
        None => (StatusCode::OK, Step::SignIn),
    }
}

/// GET either link: the step this invitation needs now.
pub async fn show(viewer: Viewer, raw: String) -> Result<HttpResponse, AppError> {
    let opened = match look(&viewer, &raw).await? {
        Looked::Pending(o) => o,
        Looked::Closed(why) => return closed(&viewer, &why),
        Looked::NotInvitation => return closed(&viewer, &AcceptError::Unknown),
    };
    match &opened.account {
        Some(u) if !u.is_active() => closed(&viewer, &AcceptError::Suspended),
        Some(u) if u.password_hash.is_some() => {
            let (status, step) = signed_in_step(&viewer, &opened);
            accept_page(&viewer, status, &raw, &opened, step)
        }
        _ => set_password_page(
            &viewer,
            StatusCode::OK,
            &raw,
            &opened,
            FieldErrors::default(),
        ),
    }
}

pub async fn accept_form(
    viewer: Viewer,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    show(viewer, token.into_inner()).await
}

/// POST `/invitations/{token}`: the signed-in invited user accepts.
#[tracing::instrument(name = "accept_invitation", skip_all)]
pub async fn accept_submit(
    viewer: Viewer,
    token: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let raw = token.into_inner();
    let opened = match look(&viewer, &raw).await? {
        Looked::Pending(o) => o,
        Looked::Closed(why) => return closed(&viewer, &why),
        Looked::NotInvitation => return closed(&viewer, &AcceptError::Unknown),
    };
    let Some(user) = viewer.user.clone() else {
        return accept_page(
            &viewer,
            StatusCode::UNAUTHORIZED,
            &raw,
            &opened,
            Step::SignIn,
        );
    };
    let token = OneTimeToken::parse(&raw).ok_or(AppError::NotFound)?;
    let state = viewer.state.clone();
    let rc = viewer.context.clone();
    let outcome = db::try_transaction(&state.pool, move |c| {
        invitations::accept(c, &rc.ctx(), &token, &user)
    })
    .await;
    match outcome {
        Ok(_) => {
            viewer.flash(
                FlashLevel::Success,
                format!("You accepted the invitation: you are now {}.", opened.what),
            );
            Ok(redirect(&opened.landing))
        }
        Err(AcceptError::WrongUser) => {
            let (_, step) = signed_in_step(&viewer, &opened);
            accept_page(&viewer, StatusCode::FORBIDDEN, &raw, &opened, step)
        }
        Err(AcceptError::Other(e)) => Err(e.into()),
        Err(why) => closed(&viewer, &why),
    }
}

/// POST `/set-password/{token}` for an invitation: choose a password, which creates the
/// account (or gives the password-less one a password) and accepts.
#[tracing::instrument(name = "accept_invitation_with_password", skip_all)]
pub async fn set_password_submit(
    viewer: Viewer,
    raw: String,
    password: &str,
    confirm: &str,
) -> Result<HttpResponse, AppError> {
    let opened = match look(&viewer, &raw).await? {
        Looked::Pending(o) => o,
        Looked::Closed(why) => return closed(&viewer, &why),
        Looked::NotInvitation => return closed(&viewer, &AcceptError::Unknown),
    };
    if opened
        .account
        .as_ref()
        .is_some_and(|u| u.password_hash.is_some())
    {
        let (status, step) = signed_in_step(&viewer, &opened);
        return accept_page(&viewer, status, &raw, &opened, step);
    }
    let mut errors = FieldErrors::default();
    let new_password = match errors.new_password(password, confirm) {
        Some(p) => p,
        None => {
            return set_password_page(
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                &raw,
                &opened,
                errors,
            );
        }
    };
    let hash = viewer.state.passwords.hash(new_password).await?;
    let token = OneTimeToken::parse(&raw).ok_or(AppError::NotFound)?;
    let state = viewer.state.clone();
    let rc = viewer.context.clone();
    let outcome = db::try_transaction(&state.pool, move |c| {
        invitations::accept_with_password(c, &rc.ctx(), &token, &hash)
    })
    .await;
    match outcome {
        Ok(user) => {
            // The link proved the address: signed in at once, in a fresh session (any session
            // in this browser belonged to someone else), on the page of what they joined.
            session::begin(&viewer.session, &user, state.clock.now())?;
            viewer.flash(
                FlashLevel::Success,
                format!(
                    "Your password is set and you are now {}. You are signed in.",
                    opened.what
                ),
            );
            Ok(redirect(&opened.landing))
        }
        Err(AcceptError::SignInFirst) => {
            let (status, step) = signed_in_step(&viewer, &opened);
            accept_page(&viewer, status, &raw, &opened, step)
        }
        Err(AcceptError::Other(e)) => Err(e.into()),
        Err(why) => closed(&viewer, &why),
    }
}
