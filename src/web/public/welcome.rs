//! The approval email's link: set a password (or confirm the existing one), sign in, and see the
//! integration's first API secret — once. The secret is generated at that moment; before it, no
//! secret exists anywhere, and after the page it exists only as a digest.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access;
use crate::audit::Actor;
use crate::auth::throttle::{self, Gate};
use crate::db;
use crate::db::models::integrations::{self, Integration};
use crate::db::models::{tokens, users};
use crate::domain::{OneTimeToken, PasswordInput, TokenPurpose};
use crate::errors::AppError;
use crate::web::forms::FieldErrors;
use crate::web::session::{self, FlashLevel};
use crate::web::session::{CsrfForm, Viewer};
use crate::web::shared::secret_page;
use crate::web::{redirect, render_with, PageContext};

#[derive(Template)]
#[template(path = "access/welcome.html")]
struct WelcomePage {
    ctx: PageContext,
    action: String,
    email: String,
    app_name: String,
    api_id: String,
    has_password: bool,
    errors: FieldErrors,
}

fn invalid(viewer: &Viewer) -> Result<HttpResponse, AppError> {
    super::links::link_invalid(viewer, false)
}

async fn resolve(
    viewer: &Viewer,
    raw: &str,
) -> Result<Option<(users::User, Integration)>, AppError> {
    let Some(token) = OneTimeToken::parse(raw) else {
        return Ok(None);
    };
    let now = viewer.context.now;
    Ok(db::run(&viewer.state.pool, move |c| {
        let Some(row) = tokens::find_valid(c, &token.digest(), TokenPurpose::Credentials, now)?
        else {
            return Ok(None);
        };
        let (Some(uid), Some(iid)) = (row.user_id, row.subject_id) else {
            return Ok(None);
        };
        match (users::find(c, &uid)?, integrations::find(c, &iid)?) {
            (Some(u), Some(i)) if u.is_active() => Ok(Some((u, i))),
            _ => Ok(None),
        }
    })
    .await?)
}

fn page(
    viewer: &Viewer,
    status: StatusCode,
    raw: &str,
    user: &users::User,
    integration: &Integration,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    render_with(
        status,
        &WelcomePage {
            ctx: viewer.page("Welcome to the ConCat API"),
            action: format!("/welcome/{raw}"),
            email: user.email.clone(),
            app_name: integration.display_name.clone(),
            api_id: integration.api_id.clone(),
            has_password: user.password_hash.is_some(),
            errors,
        },
    )
}

/// The link stands in for the password only: for a user with a second factor it works in a
/// session that already proved the factor (signed in as that user); anyone else is sent to
/// sign in first and comes back here.
async fn needs_second_factor(
    viewer: &Viewer,
    raw: &str,
    user: &users::User,
) -> Result<Option<HttpResponse>, AppError> {
    let id = user.id.clone();
    let has_factor = db::run(&viewer.state.pool, move |c| {
        Ok(crate::auth::mfa::has_any(c, &id)?)
    })
    .await?;
    let proved = viewer.user.as_ref().is_some_and(|u| u.id == user.id)
        && session::auth(&viewer.session).is_some_and(|a| a.mfa);
    if !has_factor || proved {
        return Ok(None);
    }
    viewer.flash(
        FlashLevel::Info,
        "Your account has a second factor: sign in with it, and this page opens again.",
    );
    let next: String =
        url::form_urlencoded::byte_serialize(format!("/welcome/{raw}").as_bytes()).collect();
    Ok(Some(redirect(&format!("/login?next={next}"))))
}

pub async fn form(viewer: Viewer, token: web::Path<String>) -> Result<HttpResponse, AppError> {
    let raw = token.into_inner();
    let Some((user, integration)) = resolve(&viewer, &raw).await? else {
        return invalid(&viewer);
    };
    if let Some(res) = needs_second_factor(&viewer, &raw, &user).await? {
        return Ok(res);
    }
    page(
        &viewer,
        StatusCode::OK,
        &raw,
        &user,
        &integration,
        FieldErrors::default(),
    )
}

#[derive(Deserialize)]
pub struct WelcomeForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

#[tracing::instrument(name = "reveal_first_secret", skip_all)]
pub async fn submit(
    viewer: Viewer,
    token: web::Path<String>,
    CsrfForm(form): CsrfForm<WelcomeForm>,
) -> Result<HttpResponse, AppError> {
    let raw = token.into_inner();
    let Some((user, integration)) = resolve(&viewer, &raw).await? else {
        return invalid(&viewer);
    };
    if let Some(res) = needs_second_factor(&viewer, &raw, &user).await? {
        return Ok(res);
    }
    let mut errors = FieldErrors::default();
    // A new user sets a password; one who already has a password proves it is them.
    let new_hash = if user.password_hash.is_some() {
        // Guessing the password through the link is throttled like signing in.
        let (email, ip, now) = (
            user.email_normalized.clone(),
            viewer.context.meta.client_ip.clone(),
            viewer.context.now,
        );
        let gate = db::transaction(&viewer.state.pool, move |c| {
            Ok(throttle::admit(c, &email, &ip, now)?)
        })
        .await?;
        if let Gate::Locked { minutes } = gate {
            errors.add(
                "password",
                format!("Too many wrong passwords. Try again in {minutes} minutes."),
            );
        } else if viewer
            .state
            .passwords
            .verify(
                user.password_hash.clone(),
                PasswordInput::new(form.password),
            )
            .await?
        {
            let email = user.email_normalized.clone();
            db::transaction(&viewer.state.pool, move |c| {
                Ok(throttle::release(c, &email)?)
            })
            .await?;
        } else {
            errors.add("password", "That is not your current password.");
        }
        None
    } else {
        match errors.new_password(&form.password, &form.confirm) {
            Some(p) => Some(viewer.state.passwords.hash(p).await?),
            None => None,
        }
    };
    if !errors.is_empty() {
        return page(
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            &raw,
            &user,
            &integration,
            errors,
        );
    }
    let state = viewer.state.clone();
    let rc = viewer.context.clone();
    let digest = OneTimeToken::parse(&raw)
        .map(|t| t.digest())
        .unwrap_or_default();
    let (u, i) = (user.clone(), integration.clone());
    let issued = db::transaction(&state.pool, move |c| {
        access::use_approval_link(
            c,
            &rc.by(Actor::from(&u)),
            &u,
            &i,
            &digest,
            new_hash.as_deref(),
        )
    })
    .await?;
    let Some(access::Welcomed {
        secret,
        account_suspended: suspended,
        user: fresh_user,
    }) = issued
    else {
        return invalid(&viewer);
    };
    // (A user with a factor proved it in this session: `needs_second_factor`.)
    let proved_factor = session::auth(&viewer.session).is_some_and(|a| a.mfa);
    session::begin_with(
        &viewer.session,
        &fresh_user,
        state.clock.now(),
        proved_factor,
    )?;
    let Some(secret) = secret else {
        if suspended {
            viewer.flash(
                FlashLevel::Error,
                "Your developer account is suspended by ConCat, so no secret was created. Contact ConCat support.",
            );
        } else {
            viewer.flash(
                FlashLevel::Info,
                "This integration already has its active secrets, so no new one was created. Manage them here.",
            );
        }
        return Ok(redirect(&format!(
            "/developer/integrations/{}",
            integration.id
        )));
    };
    let uid = fresh_user.id.clone();
    let roles = db::run(&state.pool, move |c| {
        Ok(crate::db::models::users::roles(c, &uid)?)
    })
    .await?;
    let mut ctx = viewer.page("Your API secret");
    ctx.user = Some(crate::web::NavUser::of(&fresh_user, roles));
    secret_page(ctx, &integration, &secret)
}
