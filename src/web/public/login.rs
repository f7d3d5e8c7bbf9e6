use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::home::home_for;
use crate::audit::{Actor, AuditEvent};
use crate::auth::csrf::NoFields;
use crate::auth::session::{self, FlashLevel};
use crate::auth::throttle::{self, Gate};
use crate::auth::{password, CsrfForm, Viewer};
use crate::db;
use crate::db::models::users;
use crate::domain::{EmailAddress, PasswordInput};
use crate::errors::AppError;
use crate::web::{redirect, render, render_with, safe_next, PageContext};

pub const INVALID_CREDENTIALS: &str = "Invalid email or password.";

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    ctx: PageContext,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn form(viewer: Viewer, query: web::Query<LoginQuery>) -> Result<HttpResponse, AppError> {
    if let Some(user) = &viewer.user {
        return Ok(redirect(home_for(user)));
    }
    render(&LoginPage {
        ctx: viewer.page("Sign in"),
        email: String::new(),
        next: safe_next(query.next.as_deref()).unwrap_or_default(),
        error: None,
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
        },
    )
}

#[tracing::instrument(name = "login", skip_all, fields(client_ip = %viewer.meta.client_ip))]
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
    let state = viewer.state.clone();
    let now = state.clock.now_naive();
    let meta = viewer.meta.clone();
    // Something that cannot be an account's email is never looked up nor hashed (no account
    // can match, so there is nothing to time): it is answered at once, like any wrong
    // credentials, and counts as a failure for the client address.
    let email = EmailAddress::parse(&typed_email)
        .ok()
        .map(|_| typed_email.to_lowercase());

    // With every hashing worker busy and the queue full, a sign-in that would need a hash is
    // turned away before it costs a database write (the hasher's own check stays the rule).
    if email.is_some() && !state.passwords.has_room() {
        return Err(password::HashError::Busy.into());
    }
    // The audit trail names what was typed (bounded, without control characters, which
    // PostgreSQL text cannot hold), or the normalized email.
    let audit_email = email.clone().unwrap_or_else(|| {
        typed_email
            .chars()
            .filter(|c| !c.is_control())
            .take(254)
            .collect()
    });

    let (e, ip, a, m) = (
        email.clone(),
        meta.client_ip.clone(),
        audit_email.clone(),
        meta.clone(),
    );
    let (gate, user) = db::transaction(&state.pool, move |c| match e {
        Some(e) => Ok((
            throttle::admit(c, &e, &ip, now)?,
            users::find_by_email(c, &e)?,
        )),
        None => {
            // Counted and audited in one write: nothing else happens for this attempt.
            let gate = throttle::admit_address(c, &ip, now)?;
            if matches!(gate, Gate::Open { .. }) {
                AuditEvent::new("login.failed", Actor::Anonymous(&a))
                    .meta(&m)
                    .record(c, now)?;
            }
            Ok((gate, None))
        }
    })
    .await?;

    if let Gate::Locked { minutes } = gate {
        let (e, meta) = (audit_email.clone(), meta.clone());
        db::run(&state.pool, move |c| {
            Ok(AuditEvent::new("login.locked", Actor::Anonymous(&e))
                .meta(&meta)
                .record(c, now)?)
        })
        .await?;
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        let message = format!("Too many failed sign-in attempts. Try again in {minutes} {unit}.");
        let mut res = again(
            &viewer,
            StatusCode::TOO_MANY_REQUESTS,
            &typed_email,
            &next,
            &message,
        )?;
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&(minutes * 60).to_string()) {
            res.headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, v);
        }
        return Ok(res);
    }

    if email.is_none() {
        return again(
            &viewer,
            StatusCode::UNAUTHORIZED,
            &typed_email,
            &next,
            INVALID_CREDENTIALS,
        );
    }
    let candidate = PasswordInput::new(form.password);
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    // Over-long input is never hashed as typed; the dummy check keeps the timing the same.
    let checked = if candidate.is_plausible() {
        state.passwords.verify(stored, candidate).await
    } else {
        state
            .passwords
            .verify(None, PasswordInput::new(String::new()))
            .await
            .map(|_| false)
    };
    let verified = match checked {
        Ok(v) => v,
        Err(busy @ password::HashError::Busy) => {
            if let Gate::Open {
                reservation: Some(id),
            } = gate
            {
                db::transaction(&state.pool, move |c| Ok(throttle::withdraw(c, &id)?)).await?;
            }
            return Err(busy.into());
        }
        Err(e) => return Err(e.into()),
    };

    // The failure was already counted by `admit`; here it is only audited.
    let Some(user) = user.filter(|_| verified) else {
        let e = audit_email.clone();
        db::run(&state.pool, move |c| {
            Ok(AuditEvent::new("login.failed", Actor::Anonymous(&e))
                .meta(&meta)
                .record(c, now)?)
        })
        .await?;
        return again(
            &viewer,
            StatusCode::UNAUTHORIZED,
            &typed_email,
            &next,
            INVALID_CREDENTIALS,
        );
    };

    if !user.is_active() {
        let u = user.clone();
        db::run(&state.pool, move |c| {
            Ok(AuditEvent::new("login.refused_suspended", Actor::from(&u))
                .target("user", &u.id)
                .meta(&meta)
                .record(c, now)?)
        })
        .await?;
        return again(
            &viewer,
            StatusCode::FORBIDDEN,
            &typed_email,
            &next,
            "This account is suspended. Contact ConCat support if you think this is a mistake.",
        );
    }

    let (u, e) = (user.clone(), user.email_normalized.clone());
    db::transaction(&state.pool, move |c| {
        throttle::release(c, &e)?;
        AuditEvent::new("login.succeeded", Actor::from(&u))
            .target("user", &u.id)
            .meta(&meta)
            .record(c, now)?;
        Ok(())
    })
    .await?;
    session::begin(&viewer.session, &user, state.clock.now())?;
    let to = if next.is_empty() {
        home_for(&user).to_string()
    } else {
        next
    };
    Ok(redirect(&to))
}

/// Signing out ends this session and every other session of the user.
pub async fn logout(viewer: Viewer, _form: CsrfForm<NoFields>) -> Result<HttpResponse, AppError> {
    if let Some(user) = viewer.user.clone() {
        let now = viewer.state.clock.now_naive();
        let meta = viewer.meta.clone();
        db::transaction(&viewer.state.pool, move |c| {
            users::bump_session_version(c, &user.id, now)?;
            AuditEvent::new("logout", Actor::from(&user))
                .target("user", &user.id)
                .meta(&meta)
                .record(c, now)?;
            Ok(())
        })
        .await?;
    }
    session::end(&viewer.session);
    viewer.flash(FlashLevel::Success, "You have signed out.");
    Ok(redirect("/login"))
}
