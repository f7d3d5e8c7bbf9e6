//! Authentication as extractors, so a handler cannot forget it: `Viewer` (anyone, maybe signed
//! in), `CurrentUser` (signed in), `AdminUser` (ConCat admin). Each request resolves the session
//! once: timeouts are checked against the clock, and the user's status and session version
//! against the database, so logout, a password change and suspension end sessions everywhere.

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;

use super::{self as session, FlashLevel, ABSOLUTE_TIMEOUT, IDLE_TIMEOUT};
use crate::context::{RequestContext, RequestMeta};
use crate::db::models::users::{self, Roles, User};
use crate::db::{self};
use crate::errors::AppError;
use crate::state::AppState;

/// The resolved user of this request (their roles, and whether this session still has to
/// set up the second factor the sign-in policy requires), cached in the request extensions.
#[derive(Clone)]
struct Resolved(Option<(User, Roles, bool)>);

pub struct Viewer {
    pub user: Option<User>,
    /// The signed-in user's developer accounts and organizations (zero when signed out).
    pub roles: Roles,
    /// The request's path, for the navigation's "you are here".
    pub path: String,
    pub session: Session,
    pub state: web::Data<AppState>,
    /// This request's context (now, actor, metadata), built once with the session's user.
    pub context: RequestContext,
    /// The signed-in session's last password or factor check (sudo mode counts from it).
    pub verified_at: Option<DateTime<Utc>>,
}

impl Viewer {
    pub fn now(&self) -> DateTime<Utc> {
        self.state.clock.now()
    }

    pub fn flash(&self, level: FlashLevel, message: impl Into<String>) {
        session::flash(&self.session, level, message);
    }
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("application state missing")))
}

async fn resolve(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    session: &Session,
) -> Result<Option<(User, Roles, bool)>, AppError> {
    if let Some(Resolved(user)) = req.extensions().get::<Resolved>().cloned() {
        return Ok(user);
    }
    let mut user = None;
    if let Some(auth) = session::auth(session) {
        let now = state.clock.now();
        if now - auth.login_at > ABSOLUTE_TIMEOUT || now - auth.seen_at > IDLE_TIMEOUT {
            session::end(session);
            session::flash(
                session,
                FlashLevel::Info,
                "Your session has expired. Please sign in again.",
            );
        } else {
            let (id, proved, policy) = (auth.user_id.clone(), auth.mfa, state.settings.require_mfa);
            let found = db::run(&state.pool, move |c| {
                Ok(match users::find(c, &id)? {
                    Some(u) => {
                        let roles = users::roles(c, &u.id)?;
                        // A session the policy covers that proved no factor: to enrol if the
                        // user has none, else it was never a complete sign-in (`true`).
                        let covered =
                            !proved && policy.covers(u.is_concat_admin, roles.organizations > 0);
                        let incomplete = covered && crate::auth::mfa::has_any(c, &u.id)?;
                        Some((u, roles, covered, incomplete))
                    }
                    None => None,
                })
            })
            .await?;
            match found {
                Some((u, roles, covered, false))
                    if u.is_active() && u.session_version == auth.session_version =>
                {
                    session::touch(session, auth, now);
                    user = Some((u, roles, covered));
                }
                Some((_, _, _, true)) => {
                    session::end(session);
                    session::flash(
                        session,
                        FlashLevel::Info,
                        "Please sign in again, with your second factor.",
                    );
                }
                _ => session::end(session),
            }
        }
    }
    req.extensions_mut().insert(Resolved(user.clone()));
    Ok(user)
}

impl FromRequest for Viewer {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let session = req.get_session();
            let (user, roles) = match resolve(&req, &state, &session).await? {
                Some((_, _, true)) if !reachable_before_enrolment(req.path()) => {
                    return Err(AppError::SecondFactorRequired {
                        setup: session::SECURITY_SETUP,
                    });
                }
                Some((u, r, _)) => (Some(u), r),
                None => (None, Roles::default()),
            };
            let verified_at = user
                .as_ref()
                .and_then(|_| session::auth(&session))
                .map(|a| a.verified_at());
            let meta = RequestMeta::of(&req, state.settings.trust_proxy_headers);
            let context = RequestContext::new(
                state.clock.now_naive(),
                meta,
                user.as_ref().map(|u| (u.id.as_str(), u.email.as_str())),
            );
            Ok(Viewer {
                user,
                roles,
                path: req.path().to_string(),
                session,
                state,
                context,
                verified_at,
            })
        })
    }
}

/// What a user whom the sign-in policy covers may reach before setting up a second factor:
/// the enrolment pages (and the passkey prompt's options) and signing out.
fn reachable_before_enrolment(path: &str) -> bool {
    path == session::SECURITY_SETUP
        || path.starts_with("/account/security/")
        || path == "/passkeys/options"
        || path == "/logout"
}

/// Where to send the user back after signing in (only for page loads).
fn return_path(req: &HttpRequest) -> String {
    if req.method() == actix_web::http::Method::GET {
        req.uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into())
    } else {
        "/".into()
    }
}

pub struct CurrentUser {
    pub viewer: Viewer,
    pub user: User,
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let viewer = Viewer::from_request(&req, payload);
        Box::pin(async move {
            let viewer = viewer.await?;
            match viewer.user.clone() {
                Some(user) => Ok(CurrentUser { viewer, user }),
                None => Err(AppError::LoginRequired {
                    next: return_path(&req),
                }),
            }
        })
    }
}

pub struct AdminUser {
    pub viewer: Viewer,
    pub user: User,
}

impl FromRequest for AdminUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let current = CurrentUser::from_request(req, payload);
        Box::pin(async move {
            let CurrentUser { viewer, user } = current.await?;
            if !user.is_concat_admin {
                return Err(AppError::Forbidden);
            }
            Ok(AdminUser { viewer, user })
        })
    }
}
