use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::sign_in::{self, SignIn};
use crate::db;
use crate::domain::PasswordInput;
use crate::errors::AppError;
use crate::web::session::csrf::NoFields;
use crate::web::session::{self, CsrfForm, FlashLevel, Viewer};
use crate::web::{home_for, redirect, render, render_with, safe_next, PageContext};

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
        return Ok(redirect(home_for(user, viewer.roles)));
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
        SignIn::SignedIn(user) if next.is_empty() => {
            crate::web::begin_and_land(&viewer, &user).await
        }
        SignIn::SignedIn(user) => {
            session::begin(&viewer.session, &user, state.clock.now())?;
            Ok(redirect(&next))
        }
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
