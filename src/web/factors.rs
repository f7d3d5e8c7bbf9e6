//! Second factors where several areas meet: checking a proof (the second step of signing in,
//! and sudo mode), the passkey prompts' options (`POST /passkeys/options`, for every area's
//! forms and `static/passkeys.js`), and sudo mode itself, a middleware: a POST to a sensitive
//! route whose session last proved who is using it more than ten minutes ago gets "Confirm
//! it's you" with the form's fields, and goes ahead with them once the proof checks out.

use actix_session::Session;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use actix_web::{web, FromRequest, HttpResponse};
use askama::Template;
use futures_util::StreamExt;
use serde::Deserialize;

use crate::audit::Actor;
use crate::auth::mfa::{self, Checked};
use crate::auth::passkeys::{self, Started};
use crate::auth::sign_in::{self, CurrentPassword};
use crate::db;
use crate::db::models::users::{self, User};
use crate::domain::PasswordInput;
use crate::errors::AppError;
use crate::state::AppState;
use crate::web::session::{self, CsrfForm, Viewer};
use crate::web::PageContext;

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
    "/admin/users/{id}/reactivate",
    "/admin/accounts/{id}/suspend",
    "/admin/accounts/{id}/reinstate",
    "/admin/api/accounts/{id}/limit",
    "/admin/users/invite",
    "/admin/users/{id}/reset-mfa",
    "/admin/organizations",
    "/org/{org}/admins/invite",
    "/org/{org}/admins/{user}/remove",
    "/admin/integrations/{id}/retire",
    "/developer/integrations/{id}/retire",
    "/account/security/totp",
    "/account/security/totp/remove",
    "/account/security/passkeys",
    "/account/security/passkeys/{id}/remove",
    "/account/security/recovery-codes",
];

/// What a passkey prompt is for; each keeps its own ceremony in the session, so confirming a
/// protected action with a passkey does not spoil a registration under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a passkey (signed in).
    Register,
    /// The second step of signing in, or confirming a protected action.
    Verify,
    /// Signing in with a passkey alone.
    Discover,
}

impl Purpose {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "register" => Some(Self::Register),
            "verify" => Some(Self::Verify),
            "discover" => Some(Self::Discover),
            _ => None,
        }
    }

    fn session_key(self) -> &'static str {
        match self {
            Self::Register => "webauthn_register",
            Self::Verify => "webauthn_verify",
            Self::Discover => "webauthn_discover",
        }
    }
}

/// The WebAuthn ceremony this session started for `purpose` (`passkey_options`), taken: each
/// is used once.
pub fn take_ceremony(session: &Session, purpose: Purpose) -> String {
    session::take(session, purpose.session_key()).unwrap_or_default()
}

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
            let ceremony = take_ceremony(&viewer.session, Purpose::Verify);
            Ok(db::transaction(&viewer.state.pool, move |c| {
                let ctx = rc.by(Actor::from(&user));
                passkeys::check_answer(c, &ctx, &rp, &user, &ceremony, &answer)
            })
            .await?)
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
    let Some(purpose) = Purpose::parse(&form.purpose) else {
        return Err(AppError::BadRequest("unknown passkey purpose".into()));
    };
    // Whose passkeys: the signed-in user's, or (second step of signing in) the pending one's.
    let user = match (purpose, &viewer.user) {
        (Purpose::Discover, _) => None,
        (_, Some(u)) => Some(u.clone()),
        (Purpose::Verify, None) => match session::pending(&viewer.session, viewer.now()) {
            Some(p) => {
                let id = p.user_id.clone();
                db::run(&viewer.state.pool, move |c| Ok(users::find(c, &id)?)).await?
            }
            None => None,
        },
        (Purpose::Register, None) => None,
    };
    if user.is_none() && purpose != Purpose::Discover {
        return Ok(HttpResponse::UnprocessableEntity().json(serde_json::json!({
            "error": "Your session ended. Sign in again."
        })));
    }
    let rc = viewer.context.clone();
    let started = db::transaction(&viewer.state.pool, move |c| {
        let ctx = rc.ctx();
        Ok(match (purpose, user) {
            (Purpose::Register, Some(u)) => {
                passkeys::start_registration(c, &ctx, &rp, &u)?.json()?
            }
            (Purpose::Verify, Some(u)) => {
                passkeys::start_authentication(c, &ctx, &rp, &u)?.json()?
            }
            _ => passkeys::start_discovery(c, &ctx, &rp)?.json()?,
        })
    })
    .await?;
    Ok(match started {
        Started::Open(options, id) => {
            session::put(&viewer.session, purpose.session_key(), &id);
            HttpResponse::Ok().json(options)
        }
        Started::NoPasskey => HttpResponse::UnprocessableEntity().json(serde_json::json!({
            "error": "There is no passkey on this account. Use a code instead."
        })),
        Started::TooMany => HttpResponse::TooManyRequests()
            .insert_header((actix_web::http::header::RETRY_AFTER, "300"))
            .json(serde_json::json!({
                "error": "Too many passkey prompts are open from your address. Try again in a few minutes."
            })),
    })
}

#[derive(Template)]
#[template(path = "auth/sudo.html")]
struct SudoPage {
    ctx: PageContext,
    email: String,
    action: String,
    fields: Vec<(String, String)>,
    has_totp: bool,
    /// A passkey this portal can use now (it needs a domain name).
    has_passkey: bool,
    /// Any factor: then a code (authenticator or recovery) is asked, never the password.
    has_factor: bool,
    error: Option<String>,
}

/// Sudo mode, as middleware (inside the session): a POST to a [`SENSITIVE`] route with a valid
/// CSRF token, by a signed-in user whose last password or factor check is older than
/// [`SUDO_WINDOW`], is answered with a page that asks for a factor (or the password, for a user
/// without one) and carries the form's fields; sent back with the proof (`sudo_code`,
/// `sudo_passkey` or `sudo_password`), the proof is checked and the request goes on to its
/// handler with the same body. A request with a bad token goes on untouched (`CsrfForm`
/// refuses it), so the page never re-signs a forged form.
pub async fn sudo(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let sensitive = req.method() == Method::POST
        && req
            .match_pattern()
            .is_some_and(|p| SENSITIVE.contains(&p.as_str()));
    if !sensitive {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map_or(64 * 1024, |s| s.settings.form_limit);
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            let res = req.error_response(AppError::PayloadTooLarge);
            return Ok(res.map_into_right_body());
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    req.set_payload(actix_web::dev::Payload::from(body.clone()));
    if !session::csrf::token_matches(req.request(), &body) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    match sudo_gate(req.request(), &body).await {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err(e) => Ok(req.error_response(e).map_into_right_body()),
    }
}

async fn sudo_gate(req: &actix_web::HttpRequest, body: &[u8]) -> Result<(), AppError> {
    let viewer = Viewer::extract(req).await?;
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
        has_factor: factors.any(),
        error,
    };
    let html = page.render()?;
    Err(AppError::Reauthenticate(status, html))
}
