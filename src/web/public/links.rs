//! Single-use links: "forgot password" (1 hour) and invitations to set a first password
//! (7 days). Tokens are stored as SHA-256 digests; the answer to "forgot password" is the same
//! whether or not the email has an account.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::audit::Actor;
use crate::auth::reset;
use crate::db;
use crate::db::models::{tokens, users};
use crate::domain::{EmailAddress, OneTimeToken, TokenPurpose};
use crate::errors::AppError;
use crate::web::forms::FieldErrors;
use crate::web::session::FlashLevel;
use crate::web::session::{CsrfForm, Viewer};
use crate::web::{render, render_with, PageContext};

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    ctx: PageContext,
    email: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "auth/forgot_sent.html")]
struct ForgotSentPage {
    ctx: PageContext,
}

pub async fn forgot_form(viewer: Viewer) -> Result<HttpResponse, AppError> {
    render(&ForgotPage {
        ctx: viewer.page("Reset your password"),
        email: String::new(),
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

#[tracing::instrument(name = "forgot_password", skip_all)]
pub async fn forgot_submit(
    viewer: Viewer,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> Result<HttpResponse, AppError> {
    let email = match EmailAddress::parse(&form.email) {
        Ok(e) => e,
        Err(msg) => {
            let mut errors = FieldErrors::default();
            errors.add("email", msg);
            return render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ForgotPage {
                    ctx: viewer.page("Reset your password"),
                    email: form.email,
                    errors,
                },
            );
        }
    };
    // The answer goes out first and is the same for every well-formed email: the lookup, the
    // token, the email and the audit entry happen afterwards, so neither the page nor its
    // timing tells whether the email has an account.
    let state = viewer.state.clone();
    let rc = viewer.context.clone();
    let work = state.clone();
    state
        .background
        .spawn("queueing a password reset", async move {
            let settings = work.settings.clone();
            let queued = db::transaction(&work.pool, move |c| {
                reset::request_password_reset(c, &rc.ctx(), &settings, &email)
            })
            .await?;
            if queued {
                work.mail_queued();
            }
            Ok(())
        });
    render(&ForgotSentPage {
        ctx: viewer.page("Check your email"),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LinkKind {
    Reset,
    Invitation,
}

impl LinkKind {
    fn purpose(self) -> TokenPurpose {
        match self {
            LinkKind::Reset => TokenPurpose::PasswordReset,
            LinkKind::Invitation => TokenPurpose::Invitation,
        }
    }

    fn title(self) -> &'static str {
        match self {
            LinkKind::Reset => "Choose a new password",
            LinkKind::Invitation => "Set your password",
        }
    }

    fn path(self) -> &'static str {
        match self {
            LinkKind::Reset => "/reset-password",
            LinkKind::Invitation => "/set-password",
        }
    }
}

#[derive(Template)]
#[template(path = "auth/set_password.html")]
struct SetPasswordPage {
    ctx: PageContext,
    action: String,
    email: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "auth/link_invalid.html")]
struct LinkInvalidPage {
    ctx: PageContext,
    reset: bool,
}

/// The page for a used, expired or mangled one-time link; `reset` offers a new reset link.
pub fn link_invalid(viewer: &Viewer, reset: bool) -> Result<HttpResponse, AppError> {
    render_with(
        StatusCode::NOT_FOUND,
        &LinkInvalidPage {
            ctx: viewer.page("Link not valid"),
            reset,
        },
    )
}

fn invalid(viewer: &Viewer, kind: LinkKind) -> Result<HttpResponse, AppError> {
    link_invalid(viewer, kind == LinkKind::Reset)
}

/// Looks the token up; returns the user it belongs to when it is valid now.
async fn user_for(
    viewer: &Viewer,
    kind: LinkKind,
    raw: &str,
) -> Result<Option<users::User>, AppError> {
    let Some(token) = OneTimeToken::parse(raw) else {
        return Ok(None);
    };
    let digest = token.digest();
    let now = viewer.context.now;
    let user = db::run(&viewer.state.pool, move |c| {
        let Some(row) = tokens::find_valid(c, &digest, kind.purpose(), now)? else {
            return Ok(None);
        };
        match row.user_id {
            // A suspended account's links do not work.
            Some(id) => Ok(users::find(c, &id)?.filter(|u| u.is_active())),
            None => Ok(None),
        }
    })
    .await?;
    Ok(user)
}

async fn show(viewer: Viewer, kind: LinkKind, raw: String) -> Result<HttpResponse, AppError> {
    match user_for(&viewer, kind, &raw).await? {
        None => invalid(&viewer, kind),
        Some(user) => render(&SetPasswordPage {
            ctx: viewer.page(kind.title()),
            action: format!("{}/{raw}", kind.path()),
            email: user.email,
            errors: FieldErrors::default(),
        }),
    }
}

#[derive(Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn set(
    viewer: Viewer,
    kind: LinkKind,
    raw: String,
    form: SetPasswordForm,
) -> Result<HttpResponse, AppError> {
    let Some(user) = user_for(&viewer, kind, &raw).await? else {
        return invalid(&viewer, kind);
    };
    let mut errors = FieldErrors::default();
    let new_password = match errors.new_password(&form.password, &form.confirm) {
        Some(p) => p,
        None => {
            return render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &SetPasswordPage {
                    ctx: viewer.page(kind.title()),
                    action: format!("{}/{raw}", kind.path()),
                    email: user.email,
                    errors,
                },
            );
        }
    };
    let hash = viewer.state.passwords.hash(new_password).await?;
    let state = viewer.state.clone();
    let (rc, settings) = (viewer.context.clone(), state.settings.clone());
    let digest = OneTimeToken::parse(&raw)
        .map(|t| t.digest())
        .unwrap_or_default();
    let done = db::transaction(&state.pool, move |c| {
        let ctx = rc.by(Actor::from(&user));
        reset::set_password_from_link(c, &ctx, &settings, &user, kind.purpose(), &digest, &hash)
    })
    .await?;
    let Some(user) = done else {
        return invalid(&viewer, kind);
    };
    state.mail_queued();
    // The link proved the address: signed in at once, in a fresh session (any session in this
    // browser belonged to the old password or to someone else).
    let message = match kind {
        LinkKind::Reset => {
            "Your password has been changed, and you are signed in. Other sessions were signed out."
        }
        LinkKind::Invitation => "Your password is set, and you are signed in.",
    };
    viewer.flash(FlashLevel::Success, message);
    crate::web::begin_and_land(&viewer, &user).await
}

pub async fn reset_form(
    viewer: Viewer,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    show(viewer, LinkKind::Reset, token.into_inner()).await
}

pub async fn reset_submit(
    viewer: Viewer,
    token: web::Path<String>,
    CsrfForm(form): CsrfForm<SetPasswordForm>,
) -> Result<HttpResponse, AppError> {
    set(viewer, LinkKind::Reset, token.into_inner(), form).await
}

/// An invitation's set-password link (`super::invitations`), or an older link that only sets
/// an invited user's first password.
pub async fn invite_form(
    viewer: Viewer,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let raw = token.into_inner();
    if super::invitations::is_invitation(&viewer, &raw).await? {
        return super::invitations::show(viewer, raw).await;
    }
    show(viewer, LinkKind::Invitation, raw).await
}

pub async fn invite_submit(
    viewer: Viewer,
    token: web::Path<String>,
    CsrfForm(form): CsrfForm<SetPasswordForm>,
) -> Result<HttpResponse, AppError> {
    let raw = token.into_inner();
    if super::invitations::is_invitation(&viewer, &raw).await? {
        return super::invitations::set_password_submit(viewer, raw, &form.password, &form.confirm)
            .await;
    }
    set(viewer, LinkKind::Invitation, raw, form).await
}
