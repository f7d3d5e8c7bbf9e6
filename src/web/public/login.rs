use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::audit::Actor;
use crate::auth::sign_in::{self, SignIn};
use crate::auth::{mfa, passkeys};
use crate::db;
use crate::db::models::users::{self, User};
use crate::domain::PasswordInput;
use crate::errors::AppError;
use crate::web::session::csrf::NoFields;
use crate::web::session::{self, CsrfForm, FlashLevel, PendingSignIn, Viewer};
use crate::web::{home_for, redirect, render, render_with, safe_next, PageContext};

pub const INVALID_CREDENTIALS: &str = "Invalid email or password.";

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    ctx: PageContext,
    email: String,
    next: String,
    error: Option<String>,
    /// Offer signing in with a passkey alone.
    passkeys: bool,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn form(viewer: Viewer, query: web::Query<LoginQuery>) -> Result<HttpResponse, AppError> {
    if let Some(user) = &viewer.user {
        return Ok(redirect(home_for(user, viewer.roles)));
    }
    render(&LoginPage {
        ctx: viewer.page("Sign in"),
        email: String::new(),
        next: safe_next(query.next.as_deref()).unwrap_or_default(),
        error: None,
        passkeys: viewer.state.webauthn.is_some(),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

fn again(
    viewer: &Viewer,
    status: StatusCode,
    email: &str,
    next: &str,
    error: &str,
) -> Result<HttpResponse, AppError> {
    render_with(
        status,
        &LoginPage {
            ctx: viewer.page("Sign in"),
            email: email.to_string(),
            next: next.to_string(),
            error: Some(error.to_string()),
            passkeys: viewer.state.webauthn.is_some(),
        },
    )
}

#[tracing::instrument(name = "login", skip_all, fields(client_ip = %viewer.context.meta.client_ip))]
pub async fn submit(
    viewer: Viewer,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(Some(&form.next)).unwrap_or_default();
    let typed_email = form.email.trim().to_string();
    if typed_email.is_empty() || form.password.is_empty() {
        return again(
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            &typed_email,
            &next,
            "Enter your email and password.",
        );
    }
    let state = &viewer.state;
    let outcome = sign_in::sign_in(
        &state.pool,
        &state.passwords,
        &viewer.context,
        &typed_email,
        PasswordInput::new(form.password),
    )
    .await?;
    match outcome {
        SignIn::SignedIn(user) => crate::web::land(&viewer, &user, &next).await,
        SignIn::Invalid => again(
            &viewer,
            StatusCode::UNAUTHORIZED,
            &typed_email,
            &next,
            INVALID_CREDENTIALS,
        ),
        SignIn::Suspended => again(
            &viewer,
            StatusCode::FORBIDDEN,
            &typed_email,
            &next,
            "This account is suspended. Contact ConCat support if you think this is a mistake.",
        ),
        SignIn::Locked { minutes } => {
            let unit = if minutes == 1 { "minute" } else { "minutes" };
            let message =
                format!("Too many failed sign-in attempts. Try again in {minutes} {unit}.");
            let mut res = again(
                &viewer,
                StatusCode::TOO_MANY_REQUESTS,
                &typed_email,
                &next,
                &message,
            )?;
            if let Ok(v) = header::HeaderValue::from_str(&(minutes * 60).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(res)
        }
    }
}

/// Signing out ends this session and every other session of the user.
pub async fn logout(viewer: Viewer, _form: CsrfForm<NoFields>) -> Result<HttpResponse, AppError> {
    if let Some(user) = viewer.user.clone() {
        let rc = viewer.context.clone();
        db::transaction(&viewer.state.pool, move |c| {
            sign_in::sign_out(c, &rc.ctx(), &user)
        })
        .await?;
    }
    session::end(&viewer.session);
    viewer.flash(FlashLevel::Success, "You have signed out.");
    Ok(redirect("/login"))
}

#[derive(Template)]
#[template(path = "auth/verify.html")]
struct VerifyPage {
    ctx: PageContext,
    has_totp: bool,
    has_passkey: bool,
    error: Option<String>,
}

/// The user of a pending sign-in (password checked, second factor not yet), if it is still
/// valid: not too old, the account active and its sessions not ended since.
async fn pending_user(viewer: &Viewer) -> Result<Option<(PendingSignIn, User)>, AppError> {
    let Some(pending) = session::pending(&viewer.session, viewer.now()) else {
        return Ok(None);
    };
    let id = pending.user_id.clone();
    let user = db::run(&viewer.state.pool, move |c| Ok(users::find(c, &id)?)).await?;
    Ok(user
        .filter(|u| u.is_active() && u.session_version == pending.session_version)
        .map(|u| (pending, u)))
}

fn expired(viewer: &Viewer) -> HttpResponse {
    viewer.flash(
        FlashLevel::Info,
        "Your sign-in took too long to confirm. Please sign in again.",
    );
    redirect("/login")
}

async fn verify_page(
    viewer: &Viewer,
    user: &User,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let id = user.id.clone();
    let f = db::run(&viewer.state.pool, move |c| Ok(mfa::factors(c, &id)?)).await?;
    render_with(
        status,
        &VerifyPage {
            ctx: viewer.page("Confirm it’s you"),
            has_totp: f.totp.is_some(),
            has_passkey: !f.passkeys.is_empty(),
            error,
        },
    )
}

/// `GET /login/verify`: the second step of signing in.
pub async fn verify_form(viewer: Viewer) -> Result<HttpResponse, AppError> {
    match pending_user(&viewer).await? {
        Some((_, user)) => verify_page(&viewer, &user, StatusCode::OK, None).await,
        None => Ok(expired(&viewer)),
    }
}

#[derive(Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    passkey: String,
}

/// `POST /login/verify`: an authenticator code, a recovery code or a passkey's answer.
#[tracing::instrument(name = "login_verify", skip_all, fields(client_ip = %viewer.context.meta.client_ip))]
pub async fn verify(
    viewer: Viewer,
    CsrfForm(form): CsrfForm<VerifyForm>,
) -> Result<HttpResponse, AppError> {
    let Some((pending, user)) = pending_user(&viewer).await? else {
        return Ok(expired(&viewer));
    };
    let by_passkey = !form.passkey.trim().is_empty();
    let proof = if by_passkey {
        crate::web::factors::Proof::Passkey(form.passkey)
    } else if !form.code.trim().is_empty() {
        crate::web::factors::Proof::Code(form.code)
    } else {
        return verify_page(
            &viewer,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Enter the code from your authenticator app, or a recovery code.".into()),
        )
        .await;
    };
    match crate::web::factors::check_proof(&viewer, &user, proof).await? {
        mfa::Checked::Verified { recovery_left } => {
            let method = match (by_passkey, recovery_left) {
                (true, _) => "passkey",
                (false, Some(_)) => "recovery_code",
                (false, None) => "authenticator_app",
            };
            let (rc, u) = (viewer.context.clone(), user.clone());
            db::run(&viewer.state.pool, move |c| {
                let ctx = rc.by(Actor::from(&u));
                Ok(ctx
                    .audit("login.succeeded")
                    .target("user", &u.id)
                    .details(serde_json::json!({ "method": method }))
                    .record(c, ctx.now)?)
            })
            .await?;
            session::begin_with(&viewer.session, &user, viewer.now(), true)?;
            if let Some(left) = recovery_left {
                viewer.flash(
                    FlashLevel::Info,
                    format!(
                        "You signed in with a recovery code; {left} remain. Make new ones under Account → Sign-in security."
                    ),
                );
            }
            let id = user.id.clone();
            let roles = db::run(&viewer.state.pool, move |c| Ok(users::roles(c, &id)?)).await?;
            let next = safe_next(Some(&pending.next)).unwrap_or_default();
            Ok(redirect(if next.is_empty() {
                home_for(&user, roles)
            } else {
                &next
            }))
        }
        mfa::Checked::Wrong => {
            verify_page(
                &viewer,
                &user,
                StatusCode::UNAUTHORIZED,
                Some("That code is not right (a code works only once). Try the newest code, or a recovery code.".into()),
            )
            .await
        }
        mfa::Checked::Locked { minutes } => {
            let unit = if minutes == 1 { "minute" } else { "minutes" };
            let mut res = verify_page(
                &viewer,
                &user,
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!("Too many wrong codes. Try again in {minutes} {unit}.")),
            )
            .await?;
            if let Ok(v) = header::HeaderValue::from_str(&(minutes * 60).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(res)
        }
    }
}

#[derive(Deserialize)]
pub struct DiscoverForm {
    #[serde(default)]
    passkey: String,
}

/// `POST /login/passkey`: signing in with a passkey alone (no password). A verified passkey
/// (with user verification) is both factors.
pub async fn passkey_sign_in(
    viewer: Viewer,
    CsrfForm(form): CsrfForm<DiscoverForm>,
) -> Result<HttpResponse, AppError> {
    let Some(rp) = viewer.state.webauthn.clone() else {
        return Err(AppError::NotFound);
    };
    let ceremony =
        crate::web::factors::take_ceremony(&viewer.session, crate::web::factors::Purpose::Discover);
    let rc = viewer.context.clone();
    let found = db::transaction(&viewer.state.pool, move |c| {
        passkeys::finish_discovery(c, &rc.ctx(), &rp, &ceremony, &form.passkey)
    })
    .await?;
    match found {
        Ok(user) if user.is_active() => {
            let (rc, u) = (viewer.context.clone(), user.clone());
            let roles = db::transaction(&viewer.state.pool, move |c| {
                let ctx = rc.by(Actor::from(&u));
                ctx.audit("login.succeeded")
                    .target("user", &u.id)
                    .details(serde_json::json!({ "method": "passkey" }))
                    .record(c, ctx.now)?;
                Ok(users::roles(c, &u.id)?)
            })
            .await?;
            session::begin_with(&viewer.session, &user, viewer.now(), true)?;
            Ok(redirect(crate::web::home_for(&user, roles)))
        }
        Ok(_) => {
            viewer.flash(
                FlashLevel::Error,
                "This account is suspended. Contact ConCat support if you think this is a mistake.",
            );
            Ok(redirect("/login"))
        }
        Err(Some(minutes)) => {
            viewer.flash(
                FlashLevel::Error,
                format!("Too many failed sign-in attempts. Try again in {minutes} minutes."),
            );
            Ok(redirect("/login"))
        }
        Err(None) => {
            viewer.flash(
                FlashLevel::Error,
                "That passkey could not sign you in. Try again, or use your email and password.",
            );
            Ok(redirect("/login"))
        }
    }
}
