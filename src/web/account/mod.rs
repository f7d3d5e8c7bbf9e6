//! The signed-in user's own settings: display name and password.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::audit::Actor;
use crate::auth::accounts;
use crate::auth::sign_in::{self, CurrentPassword};
use crate::context::Context;
use crate::db;
use crate::db::models::users::User;
use crate::domain::{DisplayName, NewPassword, PasswordInput};
use crate::errors::AppError;
use crate::web::forms::FieldErrors;
use crate::web::session::{self, FlashLevel};
use crate::web::session::{CsrfForm, CurrentUser};
use crate::web::{redirect, render_with, PageContext};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/account").route(web::get().to(show)))
        .service(web::resource("/account/name").route(web::post().to(change_name)))
        .service(web::resource("/account/password").route(web::post().to(change_password)));
}

#[derive(Template)]
#[template(path = "account/settings.html")]
struct SettingsPage {
    ctx: PageContext,
    user: User,
    name: String,
    errors: FieldErrors,
}

fn page(
    current: &CurrentUser,
    status: StatusCode,
    name: String,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    render_with(
        status,
        &SettingsPage {
            ctx: current.viewer.page("Account settings"),
            user: current.user.clone(),
            name,
            errors,
        },
    )
}

pub async fn show(current: CurrentUser) -> Result<HttpResponse, AppError> {
    let name = current.user.display_name.clone();
    page(&current, StatusCode::OK, name, FieldErrors::default())
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    display_name: String,
}

pub async fn change_name(
    current: CurrentUser,
    CsrfForm(form): CsrfForm<NameForm>,
) -> Result<HttpResponse, AppError> {
    let name = match DisplayName::parse(&form.display_name) {
        Ok(n) => n,
        Err(msg) => {
            let mut errors = FieldErrors::default();
            errors.add("display_name", msg);
            return page(
                &current,
                StatusCode::UNPROCESSABLE_ENTITY,
                form.display_name,
                errors,
            );
        }
    };
    let user = current.user.clone();
    let now = current.viewer.state.clock.now_naive();
    let meta = current.viewer.meta.clone();
    db::transaction(&current.viewer.state.pool, move |c| {
        accounts::rename(
            c,
            &Context::new(now, Actor::from(&user), &meta),
            &user,
            &name,
        )
    })
    .await?;
    current
        .viewer
        .flash(FlashLevel::Success, "Your display name has been updated.");
    Ok(redirect("/account"))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// Changing the password ends every other session of the user; this one continues.
#[tracing::instrument(name = "change_password", skip_all, fields(user_id = %current.user.id))]
pub async fn change_password(
    current: CurrentUser,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    let state = &current.viewer.state;
    let checked = sign_in::check_current_password(
        &state.pool,
        &state.passwords,
        state.clock.now_naive(),
        &current.user,
        &current.viewer.meta.client_ip,
        PasswordInput::new(form.current),
    )
    .await?;
    match checked {
        CurrentPassword::Correct => {}
        CurrentPassword::Wrong => errors.add("current", "Your current password is not correct."),
        CurrentPassword::Locked { minutes } => errors.add(
            "current",
            format!("Too many wrong passwords. Try again in {minutes} minutes."),
        ),
    }
    let new_password = errors.take(
        "password",
        NewPassword::parse_confirmed(&form.password, &form.confirm),
    );
    let (true, Some(new_password)) = (errors.is_empty(), new_password) else {
        let name = current.user.display_name.clone();
        return page(&current, StatusCode::UNPROCESSABLE_ENTITY, name, errors);
    };
    let hash = current.viewer.state.passwords.hash(new_password).await?;
    let state = current.viewer.state.clone();
    let now = state.clock.now_naive();
    let meta = current.viewer.meta.clone();
    let user = current.user.clone();
    let settings = state.settings.clone();
    let updated = db::transaction(&state.pool, move |c| {
        let ctx = Context::new(now, Actor::from(&user), &meta);
        accounts::change_password(c, &ctx, &settings, &user, &hash)
    })
    .await?;
    state.mail_queued();
    if let Some(user) = updated {
        // A fresh session bound to the new session version: other sessions are now invalid.
        session::begin(&current.viewer.session, &user, state.clock.now())?;
    }
    current.viewer.flash(
        FlashLevel::Success,
        "Your password has been changed. Other sessions have been signed out.",
    );
    Ok(redirect("/account"))
}
