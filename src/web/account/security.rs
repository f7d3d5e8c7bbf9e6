//! Account → Sign-in security: passkeys, the authenticator app and recovery codes (the
//! passkey prompts and sudo mode are `web::factors`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::mfa::{self, Added, Factors, Removed};
use crate::auth::passkeys::{self, Registered};
use crate::context::Context;
use crate::db::models::users::User;
use crate::db::{self, DbConn};
use crate::errors::AppError;
use crate::settings::Settings;
use crate::web::forms::FieldErrors;
use crate::web::session::csrf::NoFields;
use crate::web::session::{self, CsrfForm, CurrentUser, FlashLevel};
use crate::web::{redirect, render, render_with, PageContext, SECURITY_SETUP};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(SECURITY_SETUP).route(web::get().to(show)))
        .service(
            web::resource("/account/security/totp")
                .route(web::get().to(totp_form))
                .route(web::post().to(totp_enable)),
        )
        .service(web::resource("/account/security/totp/remove").route(web::post().to(totp_remove)))
        .service(web::resource("/account/security/passkeys").route(web::post().to(passkey_add)))
        .service(
            web::resource("/account/security/passkeys/{id}/remove")
                .route(web::post().to(passkey_remove)),
        )
        .service(
            web::resource("/account/security/recovery-codes")
                .route(web::get().to(recovery_codes_show))
                .route(web::post().to(recovery_codes_regenerate)),
        );
}

const KEY_TOTP_SETUP: &str = "totp_setup";
const KEY_CODES: &str = "recovery_codes";

/// Runs a change to the signed-in user's own factors: one transaction, by them.
async fn as_user<T: Send + 'static>(
    current: &CurrentUser,
    change: impl FnOnce(&mut DbConn, &Context, &Settings, &User) -> anyhow::Result<T> + Send + 'static,
) -> Result<T, AppError> {
    let (rc, settings, user) = (
        current.viewer.context.clone(),
        current.viewer.state.settings.clone(),
        current.user.clone(),
    );
    Ok(db::transaction(&current.viewer.state.pool, move |c| {
        change(c, &rc.ctx(), &settings, &user)
    })
    .await?)
}

#[derive(Template)]
#[template(path = "account/security.html")]
struct SecurityPage {
    ctx: PageContext,
    factors: Factors,
    /// The sign-in policy requires a factor and this session has not shown one yet.
    must_enroll: bool,
    /// Passkeys can be used on this portal (it is reached by a domain name).
    passkeys_available: bool,
    name: String,
    errors: FieldErrors,
}

impl SecurityPage {
    fn when(&self, t: &chrono::NaiveDateTime) -> String {
        crate::clock::when(t)
    }
}

async fn security_page(
    current: &CurrentUser,
    status: StatusCode,
    name: String,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (id, settings, user) = (
        current.user.id.clone(),
        current.viewer.state.settings.clone(),
        current.user.clone(),
    );
    let (factors, required) = db::run(&current.viewer.state.pool, move |c| {
        Ok((
            mfa::factors(c, &id)?,
            mfa::required_for(c, &settings, &user)?,
        ))
    })
    .await?;
    let mfa_session = session::auth(&current.viewer.session).is_some_and(|a| a.mfa);
    render_with(
        status,
        &SecurityPage {
            ctx: current.viewer.page("Sign-in security"),
            must_enroll: required && !mfa_session,
            passkeys_available: current.viewer.state.webauthn.is_some(),
            factors,
            name,
            errors,
        },
    )
}

pub async fn show(current: CurrentUser) -> Result<HttpResponse, AppError> {
    security_page(
        &current,
        StatusCode::OK,
        String::new(),
        FieldErrors::default(),
    )
    .await
}

#[derive(Template)]
#[template(path = "account/totp.html")]
struct TotpPage {
    ctx: PageContext,
    base32: String,
    qr_svg: String,
    error: Option<String>,
}

/// The secret being enrolled lives in the (encrypted) session until a code proves it.
fn totp_secret(current: &CurrentUser, fresh: bool) -> Vec<u8> {
    let kept: Option<String> = session::peek(&current.viewer.session, KEY_TOTP_SETUP);
    let decoded = kept.and_then(|s| hex::decode(s).ok()).filter(|_| !fresh);
    decoded.unwrap_or_else(|| {
        let s = mfa::new_totp_secret();
        session::put(&current.viewer.session, KEY_TOTP_SETUP, &hex::encode(&s));
        s
    })
}

fn totp_page(
    current: &CurrentUser,
    status: StatusCode,
    secret: &[u8],
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let setup = mfa::totp_setup(secret, &current.user.email)?;
    render_with(
        status,
        &TotpPage {
            ctx: current.viewer.page("Set up an authenticator app"),
            base32: setup.base32,
            qr_svg: setup.qr_svg,
            error,
        },
    )
}

pub async fn totp_form(current: CurrentUser) -> Result<HttpResponse, AppError> {
    let secret = totp_secret(&current, true);
    totp_page(&current, StatusCode::OK, &secret, None)
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn totp_enable(
    current: CurrentUser,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let secret: Option<Vec<u8>> = session::peek::<String>(&current.viewer.session, KEY_TOTP_SETUP)
        .and_then(|s| hex::decode(s).ok());
    let Some(secret) = secret else {
        current.viewer.flash(
            FlashLevel::Info,
            "That setup expired; here is a new code to scan.",
        );
        return Ok(redirect("/account/security/totp"));
    };
    if form.code.trim().is_empty() {
        return totp_page(
            &current,
            StatusCode::UNPROCESSABLE_ENTITY,
            &secret,
            Some("Enter the 6-digit code your app shows.".into()),
        );
    }
    let (sealer, s, code) = (
        current.viewer.state.sealer.clone(),
        secret.clone(),
        form.code.clone(),
    );
    let added = as_user(&current, move |c, ctx, settings, user| {
        mfa::enable_totp(c, ctx, settings, &sealer, user, &s, &code)
    })
    .await?;
    match added {
        Added::WrongCode => totp_page(
            &current,
            StatusCode::UNPROCESSABLE_ENTITY,
            &secret,
            Some(
                "That code does not match. Check the time on your phone and enter the newest code."
                    .into(),
            ),
        ),
        Added::Done { recovery_codes } => {
            current.viewer.session.remove(KEY_TOTP_SETUP);
            Ok(factor_added(
                &current,
                "Authenticator app set up.",
                recovery_codes,
            ))
        }
    }
}

/// After adding a factor: the session counts as verified with it, and a first factor's
/// recovery codes are shown once.
fn factor_added(current: &CurrentUser, message: &str, codes: Option<Vec<String>>) -> HttpResponse {
    session::mark_verified(&current.viewer.session, current.viewer.now(), true);
    current.viewer.flash(FlashLevel::Success, message);
    match codes {
        Some(codes) => {
            session::put(&current.viewer.session, KEY_CODES, &codes);
            redirect("/account/security/recovery-codes")
        }
        None => redirect(SECURITY_SETUP),
    }
}

fn removed(current: &CurrentUser, outcome: Removed, what: &str) -> HttpResponse {
    match outcome {
        Removed::Done => current
            .viewer
            .flash(FlashLevel::Success, format!("{what} was removed.")),
        Removed::NotFound => current
            .viewer
            .flash(FlashLevel::Info, format!("{what} was already removed.")),
        Removed::LastRequired => current.viewer.flash(
            FlashLevel::Error,
            "Your role requires a second factor: add another one before removing this one.",
        ),
    }
    redirect(SECURITY_SETUP)
}

pub async fn totp_remove(
    current: CurrentUser,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let outcome = as_user(&current, mfa::remove_totp).await?;
    Ok(removed(&current, outcome, "The authenticator app"))
}

#[derive(Deserialize)]
pub struct PasskeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    passkey: String,
}

pub async fn passkey_add(
    current: CurrentUser,
    CsrfForm(form): CsrfForm<PasskeyForm>,
) -> Result<HttpResponse, AppError> {
    let Some(rp) = current.viewer.state.webauthn.clone() else {
        return Err(AppError::NotFound);
    };
    let name = form.name.trim().to_string();
    let mut errors = FieldErrors::default();
    if name.is_empty() {
        errors.add(
            "name",
            "Name the passkey (e.g. “Work laptop”) so you can tell it apart.",
        );
    } else if name.chars().count() > passkeys::NAME_MAX || name.chars().any(char::is_control) {
        errors.add(
            "name",
            format!(
                "Use at most {} characters, on one line.",
                passkeys::NAME_MAX
            ),
        );
    }
    if form.passkey.trim().is_empty() {
        errors.add(
            "name",
            "Your browser did not create a passkey. Press “Add a passkey” and follow its prompt.",
        );
    }
    if !errors.is_empty() {
        return security_page(&current, StatusCode::UNPROCESSABLE_ENTITY, name, errors).await;
    }
    let ceremony = crate::web::factors::take_ceremony(
        &current.viewer.session,
        crate::web::factors::Purpose::Register,
    );
    let n = name.clone();
    let outcome = as_user(&current, move |c, ctx, settings, user| {
        let new = passkeys::NewPasskey {
            ceremony: &ceremony,
            name: &n,
            answer: &form.passkey,
        };
        passkeys::finish_registration(c, ctx, settings, &rp, user, new)
    })
    .await?;
    match outcome {
        Registered::Added(Added::Done { recovery_codes }) => Ok(factor_added(
            &current,
            &format!("Passkey “{name}” added."),
            recovery_codes,
        )),
        Registered::Added(Added::WrongCode) => Err(AppError::Unexpected(anyhow::anyhow!(
            "a passkey registration reported a wrong code"
        ))),
        Registered::Invalid(message) => {
            let mut errors = FieldErrors::default();
            errors.add("name", message);
            security_page(&current, StatusCode::UNPROCESSABLE_ENTITY, name, errors).await
        }
    }
}

pub async fn passkey_remove(
    current: CurrentUser,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let outcome = as_user(&current, move |c, ctx, settings, user| {
        mfa::remove_passkey(c, ctx, settings, user, &id)
    })
    .await?;
    Ok(removed(&current, outcome, "The passkey"))
}

#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
struct CodesPage {
    ctx: PageContext,
    codes: Vec<String>,
    /// Where "continue" goes: the page a sign-in asked for, or the user's home.
    next: String,
}

/// Shows new recovery codes once (they are in the session only until this page is shown).
pub async fn recovery_codes_show(current: CurrentUser) -> Result<HttpResponse, AppError> {
    match session::take::<Vec<String>>(&current.viewer.session, KEY_CODES) {
        Some(codes) => render(&CodesPage {
            ctx: current.viewer.page("Your recovery codes"),
            codes,
            next: session::take::<String>(&current.viewer.session, crate::web::AFTER_SETUP)
                .and_then(|n| crate::web::safe_next(Some(&n)))
                .unwrap_or_else(|| "/".to_string()),
        }),
        None => Ok(redirect(SECURITY_SETUP)),
    }
}

pub async fn recovery_codes_regenerate(
    current: CurrentUser,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let codes = as_user(&current, mfa::regenerate_recovery_codes).await?;
    match codes {
        Some(codes) => {
            session::put(&current.viewer.session, KEY_CODES, &codes);
            Ok(redirect("/account/security/recovery-codes"))
        }
        None => {
            current.viewer.flash(
                FlashLevel::Error,
                "Recovery codes come with a second factor: set one up first.",
            );
            Ok(redirect(SECURITY_SETUP))
        }
    }
}
