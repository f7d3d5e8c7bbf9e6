//! First run: while no ConCat admin exists, `serve` prints a single-use `/setup/<token>` link;
//! this page creates the first admin with it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::accounts::{self, SetupError};
use crate::db;
use crate::db::models::{tokens, users};
use crate::domain::{DisplayName, EmailAddress, OneTimeToken, TokenPurpose};
use crate::errors::AppError;
use crate::web::forms::FieldErrors;
use crate::web::session::FlashLevel;
use crate::web::session::{CsrfForm, Viewer};
use crate::web::{render, render_with, PageContext};

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    ctx: PageContext,
    action: String,
    name: String,
    email: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "auth/setup_invalid.html")]
struct SetupInvalidPage {
    ctx: PageContext,
}

async fn token_valid(viewer: &Viewer, raw: &str) -> Result<bool, AppError> {
    let Some(token) = OneTimeToken::parse(raw) else {
        return Ok(false);
    };
    let digest = token.digest();
    let now = viewer.context.now;
    Ok(db::run(&viewer.state.pool, move |c| {
        Ok(
            tokens::find_valid(c, &digest, TokenPurpose::Setup, now)?.is_some()
                && !users::admin_exists(c)?,
        )
    })
    .await?)
}

fn invalid(viewer: &Viewer) -> Result<HttpResponse, AppError> {
    render_with(
        StatusCode::NOT_FOUND,
        &SetupInvalidPage {
            ctx: viewer.page("Setup link not valid"),
        },
    )
}

pub async fn form(viewer: Viewer, token: web::Path<String>) -> Result<HttpResponse, AppError> {
    let raw = token.into_inner();
    if !token_valid(&viewer, &raw).await? {
        return invalid(&viewer);
    }
    render(&SetupPage {
        ctx: viewer.page("Create the first admin"),
        action: format!("/setup/{raw}"),
        name: String::new(),
        email: String::new(),
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

#[tracing::instrument(name = "first_run_setup", skip_all)]
pub async fn submit(
    viewer: Viewer,
    token: web::Path<String>,
    CsrfForm(form): CsrfForm<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let raw = token.into_inner();
    if !token_valid(&viewer, &raw).await? {
        return invalid(&viewer);
    }
    let mut errors = FieldErrors::default();
    let name = errors.take("name", DisplayName::parse(&form.name));
    let email = errors.take("email", EmailAddress::parse(&form.email));
    let pw = errors.new_password(&form.password, &form.confirm);
    let again = |errors: FieldErrors| {
        render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage {
                ctx: viewer.page("Create the first admin"),
                action: format!("/setup/{raw}"),
                name: form.name.clone(),
                email: form.email.clone(),
                errors,
            },
        )
    };
    let (Some(name), Some(email), Some(pw)) = (name, email, pw) else {
        return again(errors);
    };
    let hash = viewer.state.passwords.hash(pw).await?;
    let rc = viewer.context.clone();
    let digest = OneTimeToken::parse(&raw)
        .map(|t| t.digest())
        .unwrap_or_default();
    let created = db::try_transaction(&viewer.state.pool, move |c| {
        accounts::create_first_admin(c, &rc.ctx(), &email, &name, &hash, &digest)
    })
    .await;
    match created {
        Ok(user) => {
            viewer.flash(
                FlashLevel::Success,
                "Your admin account is ready, and you are signed in.",
            );
            crate::web::begin_and_land(&viewer, &user).await
        }
        Err(SetupError::LinkUsed) => invalid(&viewer),
        Err(SetupError::EmailTaken) => {
            let mut errors = FieldErrors::default();
            errors.add("email", "An account with this email already exists.");
            again(errors)
        }
        Err(SetupError::Db(e)) => Err(e.into()),
        Err(SetupError::Other(e)) => Err(e.into()),
    }
}
