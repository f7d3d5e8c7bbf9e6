//! The signed-in user's own settings: display name and password; sign-in security
//! (`security`).

pub mod security;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::accounts::{self, OwnPasswordChange};
use crate::auth::sign_in::CurrentPassword;
use crate::db;
use crate::db::models::users::User;
use crate::domain::{DisplayName, PasswordInput};
use crate::errors::AppError;
use crate::web::forms::FieldErrors;
use crate::web::session::{self, FlashLevel};
use crate::web::session::{CsrfForm, CurrentUser};
use crate::web::{redirect, render_with, PageContext};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/account").route(web::get().to(show)))
        .service(web::resource("/account/name").route(web::post().to(change_name)))
        .service(web::resource("/account/password").route(web::post().to(change_password)));
    security::routes(cfg);
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
    let (rc, user) = (current.viewer.context.clone(), current.user.clone());
    db::transaction(&current.viewer.state.pool, move |c| {
        accounts::rename(c, &rc.ctx(), &user, &name)
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
    // The new password's errors come after the current password's (the form's order).
    let mut new_errors = FieldErrors::default();
    let new_password = new_errors.new_password(&form.password, &form.confirm);
    let state = &current.viewer.state;
    let outcome = accounts::change_own_password(
        &state.pool,
        &state.passwords,
        &state.settings,
        &current.viewer.context,
        &current.user,
        PasswordInput::new(form.current),
        new_password,
    )
    .await?;
    let updated = match outcome {
        OwnPasswordChange::Changed(updated) => updated,
        OwnPasswordChange::Refused(current_password) => {
            let mut errors = FieldErrors::default();
            match current_password {
                CurrentPassword::Correct => {}
                CurrentPassword::Wrong => {
                    errors.add("current", "Your current password is not correct.")
                }
                CurrentPassword::Locked { minutes } => errors.add(
                    "current",
                    format!("Too many wrong passwords. Try again in {minutes} minutes."),
                ),
            }
            errors.extend(new_errors);
            let name = current.user.display_name.clone();
            return page(&current, StatusCode::UNPROCESSABLE_ENTITY, name, errors);
        }
    };
    state.mail_queued();
    if let Some(user) = updated {
        // A fresh session bound to the new session version: other sessions are now invalid.
        // This one keeps what it proved (its second factor) and when.
        session::renew(&current.viewer.session, &user, state.clock.now())?;
    }
    current.viewer.flash(
        FlashLevel::Success,
        "Your password has been changed. Other sessions have been signed out.",
    );
    Ok(redirect("/account"))
}
