//! What the session cookie holds, and the operations on it. The cookie is signed and encrypted
//! (actix-session `CookieContentSecurity::Private`), so its content is neither readable nor
//! forgeable; the per-user `session_version` in the database lets the server end every session of
//! a user at once (logout, password change, suspension).

pub mod csrf;
pub mod extract;

pub use csrf::CsrfForm;
pub use extract::{AdminUser, CurrentUser, Viewer};

use actix_session::Session;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};

use crate::db::models::users::User;

/// Where a user whom the sign-in policy covers sets up their first factor (`Viewer` sends
/// them there until they have).
pub const SECURITY_SETUP: &str = "/account/security";

pub const IDLE_TIMEOUT: chrono::Duration = chrono::Duration::minutes(30);
pub const ABSOLUTE_TIMEOUT: chrono::Duration = chrono::Duration::hours(12);

const KEY_AUTH: &str = "auth";
const KEY_CSRF: &str = "csrf";
const KEY_FLASH: &str = "flash";

/// The signed-in part of a session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: String,
    pub session_version: i32,
    /// Random id of this login, renewed at every login (never reused across logins).
    pub sid: String,
    pub login_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
    /// Whether this session proved a second factor (at sign-in, or by enrolling one since).
    #[serde(default)]
    pub mfa: bool,
    /// The last password or second-factor check of this session (sudo mode counts from it).
    #[serde(default)]
    pub verified_at: Option<DateTime<Utc>>,
}

impl SessionAuth {
    /// When this session last proved who is using it.
    pub fn verified_at(&self) -> DateTime<Utc> {
        self.verified_at.unwrap_or(self.login_at)
    }
}

/// A password that checked out for a user with a second factor: the session waits for the
/// factor (`/login/verify`) before it is signed in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub user_id: String,
    pub session_version: i32,
    pub at: DateTime<Utc>,
    /// Where to go once signed in (a safe local path, or empty).
    pub next: String,
}

/// How long a pending sign-in waits for its second factor.
pub const PENDING_TIMEOUT: chrono::Duration = chrono::Duration::minutes(5);
const KEY_PENDING: &str = "pending";

pub fn set_pending(session: &Session, pending: &PendingSignIn) -> anyhow::Result<()> {
    session.remove(KEY_AUTH);
    session
        .insert(KEY_PENDING, pending)
        .map_err(|e| anyhow::anyhow!("writing the session: {e}"))
}

/// The pending sign-in, if there is one and it is not too old.
pub fn pending(session: &Session, now: DateTime<Utc>) -> Option<PendingSignIn> {
    let p: PendingSignIn = session.get(KEY_PENDING).ok().flatten()?;
    if now - p.at > PENDING_TIMEOUT {
        session.remove(KEY_PENDING);
        return None;
    }
    Some(p)
}

/// Records a successful password or factor check in the signed-in session (sudo mode).
pub fn mark_verified(session: &Session, now: DateTime<Utc>, with_factor: bool) {
    if let Some(mut a) = auth(session) {
        a.verified_at = Some(now);
        a.mfa |= with_factor;
        let _ = session.insert(KEY_AUTH, a);
    }
}

/// A value kept in the session for the next page only (e.g. recovery codes to show once).
pub fn put<T: Serialize>(session: &Session, key: &str, value: &T) {
    let _ = session.insert(key, value);
}

pub fn take<T: serde::de::DeserializeOwned>(session: &Session, key: &str) -> Option<T> {
    let v = session.get::<T>(key).ok().flatten();
    if v.is_some() {
        session.remove(key);
    }
    v
}

pub fn peek<T: serde::de::DeserializeOwned>(session: &Session, key: &str) -> Option<T> {
    session.get::<T>(key).ok().flatten()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    pub level: FlashLevel,
    pub message: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FlashLevel {
    Info,
    Success,
    Error,
}

impl Flash {
    pub fn css(&self) -> &'static str {
        match self.level {
            FlashLevel::Info => "info",
            FlashLevel::Success => "success",
            FlashLevel::Error => "error",
        }
    }
}

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the OS random number generator failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The session's CSRF token, created on first use.
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(t)) = session.get::<String>(KEY_CSRF) {
        return t;
    }
    let t = random_token();
    let _ = session.insert(KEY_CSRF, &t);
    t
}

/// The CSRF token without creating one.
pub fn existing_csrf_token(session: &Session) -> Option<String> {
    session.get::<String>(KEY_CSRF).ok().flatten()
}

pub fn auth(session: &Session) -> Option<SessionAuth> {
    session.get::<SessionAuth>(KEY_AUTH).ok().flatten()
}

pub fn touch(session: &Session, mut auth: SessionAuth, now: DateTime<Utc>) {
    auth.seen_at = now;
    let _ = session.insert(KEY_AUTH, auth);
}

/// Starts a signed-in session: a new session (renewed cookie, new CSRF token), bound to the
/// user's current session version.
pub fn begin(session: &Session, user: &User, now: DateTime<Utc>) -> anyhow::Result<()> {
    begin_with(session, user, now, false)
}

/// A new session for the same user after a change of their password: renewed (cookie, CSRF
/// token) and bound to the new session version, keeping what this session proved and when — a
/// password alone does not open sudo mode for a user with a second factor.
pub fn renew(session: &Session, user: &User, now: DateTime<Utc>) -> anyhow::Result<()> {
    let before = auth(session);
    begin_with(session, user, now, before.as_ref().is_some_and(|a| a.mfa))?;
    if let (Some(before), Some(mut after)) = (before, auth(session)) {
        after.verified_at = Some(before.verified_at());
        session
            .insert(KEY_AUTH, after)
            .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
    }
    Ok(())
}

/// [`begin`], saying whether the sign-in proved a second factor.
pub fn begin_with(
    session: &Session,
    user: &User,
    now: DateTime<Utc>,
    mfa: bool,
) -> anyhow::Result<()> {
    let flashes = take_flashes(session);
    // `clear` + `renew` (not `purge`, which would drop everything written afterwards).
    session.clear();
    session.renew();
    session
        .insert(
            KEY_AUTH,
            SessionAuth {
                user_id: user.id.clone(),
                session_version: user.session_version,
                sid: random_token(),
                login_at: now,
                seen_at: now,
                mfa,
                verified_at: Some(now),
            },
        )
        .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
    session
        .insert(KEY_CSRF, random_token())
        .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
    for f in flashes {
        push_flash(session, f);
    }
    Ok(())
}

/// Ends the session in this browser (the caller bumps the session version to end the others).
/// The cookie is renewed and emptied; a flash message may still be added afterwards.
pub fn end(session: &Session) {
    session.clear();
    session.renew();
}

fn push_flash(session: &Session, flash: Flash) {
    let mut all: Vec<Flash> = session.get(KEY_FLASH).ok().flatten().unwrap_or_default();
    if all.len() < 5 && !all.contains(&flash) {
        all.push(flash);
    }
    let _ = session.insert(KEY_FLASH, all);
}

pub fn flash(session: &Session, level: FlashLevel, message: impl Into<String>) {
    push_flash(
        session,
        Flash {
            level,
            message: message.into(),
        },
    );
}

pub fn take_flashes(session: &Session) -> Vec<Flash> {
    let all: Vec<Flash> = session.get(KEY_FLASH).ok().flatten().unwrap_or_default();
    if !all.is_empty() {
        session.remove(KEY_FLASH);
    }
    all
}
