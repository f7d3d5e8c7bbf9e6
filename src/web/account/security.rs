//! Account → Sign-in security: passkeys, the authenticator app and recovery codes; the passkey
//! challenges the browser asks for (`static/passkeys.js`); and sudo mode, which asks for a
//! factor (or the password) again before a sensitive action when the last check is older than
//! ten minutes, then carries on with the same form.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::audit::Actor;
use crate::auth::mfa::{self, Added, Checked, Factors, Removed};
use crate::auth::passkeys::{self, Registered};
use crate::auth::sign_in::{self, CurrentPassword};
use crate::db;
use crate::db::models::users::{self, User};
use crate::domain::PasswordInput;
use crate::errors::AppError;
use crate::web::forms::FieldErrors;
use crate::web::session::csrf::NoFields;
use crate::web::session::{self, CsrfForm, CurrentUser, FlashLevel, Viewer};
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
        )
        .service(web::resource("/passkeys/options").route(web::post().to(passkey_options)));
}

/// How long a password or factor check lets sensitive actions through without asking again.
pub const SUDO_WINDOW: chrono::Duration = chrono::Duration::minutes(10);

/// The POST routes that ask for a factor (or the password) again after [`SUDO_WINDOW`].
pub const SENSITIVE: &[&str] = &[
    "/admin/requests/{id}/approve",
    "/admin/requests/{id}/reject",
    "/admin/reactivations/{id}/approve",
    "/admin/reactivations/{id}/reject",
    "/org/{org}/integrations/authorize",
    "/org/{org}/integrations/{auth}/revoke",
    "/org/{org}/integrations/{auth}/scopes",
    "/developer/integrations/{id}/secrets",
    "/developer/integrations/{id}/secrets/roll",
    "/developer/integrations/{id}/secrets/{secret_id}/revoke",
    "/admin/users/{id}/suspend",
    "/admin/accounts/{id}/suspend",
    "/admin/api/accounts/{id}/limit",
    "/admin/users/invite",
    "/admin/users/{id}/reset-mfa",
    "/account/security/totp",
    "/account/security/totp/remove",
    "/account/security/passkeys",
    "/account/security/passkeys/{id}/remove",
    "/account/security/recovery-codes",
];

const KEY_TOTP_SETUP: &str = "totp_setup";
const KEY_CODES: &str = "recovery_codes";
const KEY_CEREMONY: &str = "webauthn";

/// What someone offers as proof of a second factor.
pub enum Proof {
    /// An authenticator code or a recovery code.
    Code(String),
    /// A passkey's answer (JSON) to the challenge this session was given.
    Passkey(String),
}

/// Checks `proof` for `user` (throttled, audited). The passkey challenge is this session's.
pub async fn check_proof(viewer: &Viewer, user: &User, proof: Proof) -> Result<Checked, AppError> {
    let (rc, settings, user) = (
        viewer.context.clone(),
        viewer.state.settings.clone(),
        user.clone(),
    );
    match proof {
        Proof::Code(code) => {
            let sealer = viewer.state.sealer.clone();
            Ok(db::transaction(&viewer.state.pool, move |c| {
                let ctx = rc.by(Actor::from(&user));
                mfa::check_code(c, &ctx, &settings, &sealer, &user, &code)
            })
            .await?)
        }
        Proof::Passkey(answer) => {
            let Some(rp) = viewer.state.webauthn.clone() else {
                return Ok(Checked::Wrong);
            };
            let ceremony: String = session::take(&viewer.session, KEY_CEREMONY).unwrap_or_default();
            Ok(db::transaction(&viewer.state.pool, move |c| {
                let ctx = rc.by(Actor::from(&user));
                passkeys::check_answer(c, &ctx, &rp, &user, &ceremony, &answer)
            })
            .await?)
        }
    }
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
    let (rc, settings, sealer, user, s, code) = (
        current.viewer.context.clone(),
        current.viewer.state.settings.clone(),
        current.viewer.state.sealer.clone(),
        current.user.clone(),
        secret.clone(),
        form.code.clone(),
    );
    let added = db::transaction(&current.viewer.state.pool, move |c| {
        mfa::enable_totp(c, &rc.ctx(), &settings, &sealer, &user, &s, &code)
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
    let (rc, settings, user) = (
        current.viewer.context.clone(),
        current.viewer.state.settings.clone(),
        current.user.clone(),
    );
    let outcome = db::transaction(&current.viewer.state.pool, move |c| {
        mfa::remove_totp(c, &rc.ctx(), &settings, &user)
    })
    .await?;
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
    let ceremony: String = session::take(&current.viewer.session, KEY_CEREMONY).unwrap_or_default();
    let (rc, settings, user, n) = (
        current.viewer.context.clone(),
        current.viewer.state.settings.clone(),
        current.user.clone(),
        name.clone(),
    );
    let outcome = db::transaction(&current.viewer.state.pool, move |c| {
        let new = passkeys::NewPasskey {
            ceremony: &ceremony,
            name: &n,
            answer: &form.passkey,
        };
        passkeys::finish_registration(c, &rc.ctx(), &settings, &rp, &user, new)
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
    let (rc, settings, user, id) = (
        current.viewer.context.clone(),
        current.viewer.state.settings.clone(),
        current.user.clone(),
        path.into_inner(),
    );
    let outcome = db::transaction(&current.viewer.state.pool, move |c| {
        mfa::remove_passkey(c, &rc.ctx(), &settings, &user, &id)
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
    let (rc, settings, user) = (
        current.viewer.context.clone(),
        current.viewer.state.settings.clone(),
        current.user.clone(),
    );
    let codes = db::transaction(&current.viewer.state.pool, move |c| {
        mfa::regenerate_recovery_codes(c, &rc.ctx(), &settings, &user)
    })
    .await?;
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

#[derive(Deserialize)]
pub struct OptionsForm {
    #[serde(default)]
    purpose: String,
}

/// `POST /passkeys/options` (form with the CSRF token and `purpose`): the options for the
/// browser's passkey prompt, as JSON. `register` (signed in: a new passkey), `verify` (the
/// second step of signing in, or confirming a sensitive action), `discover` (signing in with a
/// passkey alone). The challenge is kept server-side; this session remembers which one it is.
pub async fn passkey_options(
    viewer: Viewer,
    CsrfForm(form): CsrfForm<OptionsForm>,
) -> Result<HttpResponse, AppError> {
    let Some(rp) = viewer.state.webauthn.clone() else {
        return Ok(HttpResponse::NotFound().json(serde_json::json!({
            "error": "Passkeys are not available on this portal (it is not reached by a domain name)."
        })));
    };
    let now = viewer.context.now;
    let pending_user = match (&viewer.user, form.purpose.as_str()) {
        (None, "verify") => match session::pending(&viewer.session, viewer.now()) {
            Some(p) => {
                let id = p.user_id.clone();
                db::run(&viewer.state.pool, move |c| Ok(users::find(c, &id)?)).await?
            }
            None => None,
        },
        _ => None,
    };
    let rp2 = rp.clone();
    let options: Option<(serde_json::Value, String)> = match (form.purpose.as_str(), &viewer.user) {
        ("register", Some(user)) => {
            let user = user.clone();
            let (o, id) = db::transaction(&viewer.state.pool, move |c| {
                passkeys::start_registration(c, &rp2, &user, now)
            })
            .await?;
            Some((serde_json::to_value(o).map_err(anyhow::Error::from)?, id))
        }
        ("verify", signed_in) => match signed_in.clone().or(pending_user) {
            Some(user) => db::transaction(&viewer.state.pool, move |c| {
                passkeys::start_authentication(c, &rp2, &user, now)
            })
            .await?
            .map(|(o, id)| serde_json::to_value(o).map(|v| (v, id)))
            .transpose()
            .map_err(anyhow::Error::from)?,
            None => None,
        },
        ("discover", None) => {
            let (o, id) = db::transaction(&viewer.state.pool, move |c| {
                passkeys::start_discovery(c, &rp2, now)
            })
            .await?;
            Some((serde_json::to_value(o).map_err(anyhow::Error::from)?, id))
        }
        _ => None,
    };
    match options {
        Some((options, id)) => {
            session::put(&viewer.session, KEY_CEREMONY, &id);
            Ok(HttpResponse::Ok().json(options))
        }
        None => Ok(HttpResponse::UnprocessableEntity().json(serde_json::json!({
            "error": "There is no passkey to use here. Sign in again, or use another method."
        }))),
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
    let ceremony: String = session::take(&viewer.session, KEY_CEREMONY).unwrap_or_default();
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

#[derive(Template)]
#[template(path = "auth/sudo.html")]
struct SudoPage {
    ctx: PageContext,
    email: String,
    action: String,
    fields: Vec<(String, String)>,
    has_totp: bool,
    has_passkey: bool,
    error: Option<String>,
}

/// Sudo mode, called by `CsrfForm` after the CSRF check: a POST to a [`SENSITIVE`] route by a
/// signed-in user whose last password or factor check is older than [`SUDO_WINDOW`] is
/// answered with a page that asks for a factor (or the password, for a user without one) and
/// carries the form's fields; sent back with the proof (`sudo_code`, `sudo_passkey` or
/// `sudo_password`), the proof is checked and the action goes ahead with the same fields.
pub async fn sudo_gate(req: &HttpRequest, body: &[u8]) -> Result<(), AppError> {
    let pattern = req.match_pattern();
    if !pattern.as_deref().is_some_and(|p| SENSITIVE.contains(&p)) {
        return Ok(());
    }
    let viewer = <Viewer as actix_web::FromRequest>::extract(req).await?;
    let Some(user) = viewer.user.clone() else {
        return Ok(()); // the handler's extractor asks for a sign-in
    };
    if viewer
        .verified_at
        .is_some_and(|t| viewer.now() - t <= SUDO_WINDOW)
    {
        return Ok(());
    }
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.trim().is_empty())
    };
    let id = user.id.clone();
    let factors = db::run(&viewer.state.pool, move |c| Ok(mfa::factors(c, &id)?)).await?;
    let outcome = if let Some(answer) = field("sudo_passkey") {
        Some(check_proof(&viewer, &user, Proof::Passkey(answer)).await?)
    } else if let Some(code) = field("sudo_code") {
        Some(check_proof(&viewer, &user, Proof::Code(code)).await?)
    } else if let (Some(pw), false) = (field("sudo_password"), factors.any()) {
        let state = &viewer.state;
        Some(
            match sign_in::check_current_password(
                &state.pool,
                &state.passwords,
                &viewer.context,
                &user,
                PasswordInput::new(pw),
            )
            .await?
            {
                CurrentPassword::Correct => Checked::Verified {
                    recovery_left: None,
                },
                CurrentPassword::Wrong => Checked::Wrong,
                CurrentPassword::Locked { minutes } => Checked::Locked { minutes },
            },
        )
    } else {
        None
    };
    let error = match outcome {
        Some(Checked::Verified { .. }) => {
            session::mark_verified(&viewer.session, viewer.now(), factors.any());
            let (rc, u) = (viewer.context.clone(), user.clone());
            db::run(&viewer.state.pool, move |c| {
                let ctx = rc.ctx();
                Ok(ctx
                    .audit("sudo.confirmed")
                    .target("user", &u.id)
                    .record(c, ctx.now)?)
            })
            .await?;
            return Ok(());
        }
        Some(Checked::Wrong) => Some(if factors.any() {
            "That did not confirm it’s you. Try the newest code, a recovery code or your passkey."
        } else {
            "That password is not right."
        }
        .to_string()),
        Some(Checked::Locked { minutes }) => {
            Some(format!("Too many wrong attempts. Try again in {minutes} minutes."))
        }
        None => None,
    };
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let page = SudoPage {
        ctx: viewer.page("Confirm it’s you"),
        email: user.email.clone(),
        action: req
            .uri()
            .path_and_query()
            .map_or_else(|| req.path().to_string(), |p| p.as_str().to_string()),
        fields: fields
            .into_iter()
            .filter(|(k, _)| !k.starts_with("sudo_") && k != "csrf_token")
            .collect(),
        has_totp: factors.totp.is_some(),
        has_passkey: !factors.passkeys.is_empty() && viewer.state.webauthn.is_some(),
        error,
    };
    let html = page.render()?;
    Err(AppError::Reauthenticate(status, html))
}

/// `POST /admin/users/{id}/reset-mfa`: a ConCat admin removes another user's second factors.
pub async fn admin_reset(
    admin: crate::web::session::AdminUser,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (rc, settings, id) = (
        admin.viewer.context.clone(),
        admin.viewer.state.settings.clone(),
        path.into_inner(),
    );
    let outcome = db::transaction(&admin.viewer.state.pool, move |c| {
        let Some(target) = users::find(c, &id)? else {
            return Ok(None);
        };
        Ok(Some((
            mfa::reset_factors(c, &rc.ctx(), &settings, &target)?,
            target,
        )))
    })
    .await?;
    match outcome {
        None => Err(AppError::NotFound),
        Some((mfa::Reset::OwnAccount, _)) => {
            admin.viewer.flash(
                FlashLevel::Error,
                "You cannot reset your own second factors. Use a recovery code, or ask another ConCat admin.",
            );
            Ok(redirect("/admin/users"))
        }
        Some((mfa::Reset::Done, target)) => {
            admin.viewer.flash(
                FlashLevel::Success,
                format!(
                    "The second factors of {} were removed and their sessions ended. They set up a new one at their next sign-in.",
                    target.email
                ),
            );
            Ok(redirect("/admin/users"))
        }
    }
}
