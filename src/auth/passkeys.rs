//! Passkeys (WebAuthn) by `webauthn-rs`: registering several per user, using one as the second
//! factor after the password, and signing in with one alone (a discoverable credential). The
//! server half of each ceremony (the challenge) is kept in `webauthn_ceremonies` for five
//! minutes and used once; the browser half is `static/passkeys.js`.

use base64::Engine as _;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, DiscoverableKey, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder,
};

use super::mfa::{self, Added, Checked};
use super::throttle::{self, Gate};
use crate::context::Context;
use crate::db::models::users::{self, User};
use crate::db::schema::{passkeys, webauthn_ceremonies};
use crate::db::{self, DbConn};
use crate::settings::Settings;

/// How long the browser has to answer a challenge.
pub const CEREMONY_TTL: chrono::Duration = chrono::Duration::minutes(5);
/// Longest passkey name.
pub const NAME_MAX: usize = 60;

/// The relying party for the portal's base URL. Passkeys are bound to a domain name, so a
/// portal reached by an IP address (`PORTAL_BASE_URL=http://127.0.0.1:8080`) has none: then
/// this is `None` and the pages offer the authenticator app only. On `localhost` any port is
/// accepted (development and tests).
pub fn relying_party(settings: &Settings) -> anyhow::Result<Option<Webauthn>> {
    let origin: Url = settings.base_url.clone();
    let Some(domain) = origin.domain().map(str::to_string) else {
        return Ok(None);
    };
    let rp = WebauthnBuilder::new(&domain, &origin)
        .map_err(|e| anyhow::anyhow!("PORTAL_BASE_URL cannot host passkeys: {e}"))?
        .rp_name("ConCat developer portal")
        .allow_any_port(domain == "localhost")
        .build()
        .map_err(|e| anyhow::anyhow!("setting up passkeys: {e}"))?;
    Ok(Some(rp))
}

/// A user's WebAuthn user handle: their id (a UUID) as bytes.
fn handle(user: &User) -> anyhow::Result<Uuid> {
    Uuid::parse_str(&user.id).map_err(|e| anyhow::anyhow!("user id is not a UUID: {e}"))
}

fn stored(row: &mfa::PasskeyRow) -> anyhow::Result<Passkey> {
    Ok(serde_json::from_str(&row.passkey)?)
}

fn credential_key(id: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// How starting a passkey prompt went: its options (for the browser) and the ceremony's id.
#[derive(Debug)]
pub enum Started<T> {
    Open(T, String),
    /// The user has no passkey to use.
    NoPasskey,
    /// The address holds too many open prompts ([`CEREMONIES_PER_ADDRESS`]).
    TooMany,
}

impl<T: serde::Serialize> Started<T> {
    /// The same, with the options as JSON.
    pub fn json(self) -> serde_json::Result<Started<serde_json::Value>> {
        Ok(match self {
            Started::Open(o, id) => Started::Open(serde_json::to_value(o)?, id),
            Started::NoPasskey => Started::NoPasskey,
            Started::TooMany => Started::TooMany,
        })
    }
}

fn started<T>(options: T, id: Option<String>) -> Started<T> {
    match id {
        Some(id) => Started::Open(options, id),
        None => Started::TooMany,
    }
}

/// Open challenges one address may hold at once (each is a row for five minutes).
pub const CEREMONIES_PER_ADDRESS: i64 = 20;

/// Keeps a ceremony's server state; `None` when the address already holds
/// [`CEREMONIES_PER_ADDRESS`] open ones (signing in with a passkey needs no account, so
/// anyone could otherwise fill the table).
fn save_ceremony(
    c: &mut DbConn,
    ctx: &Context,
    user: Option<&User>,
    kind: &str,
    state: &impl serde::Serialize,
) -> anyhow::Result<Option<String>> {
    let (now, ip) = (ctx.now, ctx.client_ip());
    diesel::delete(webauthn_ceremonies::table.filter(webauthn_ceremonies::expires_at.lt(now)))
        .execute(c)?;
    db::lock_key(c, &format!("webauthn:ip:{ip}"))?;
    let open: i64 = webauthn_ceremonies::table
        .filter(webauthn_ceremonies::client_ip.eq(ip))
        .count()
        .get_result(c)?;
    if open >= CEREMONIES_PER_ADDRESS {
        return Ok(None);
    }
    let id = db::new_id();
    diesel::insert_into(webauthn_ceremonies::table)
        .values((
            webauthn_ceremonies::id.eq(&id),
            webauthn_ceremonies::user_id.eq(user.map(|u| u.id.clone())),
            webauthn_ceremonies::kind.eq(kind),
            webauthn_ceremonies::state.eq(serde_json::to_string(state)?),
            webauthn_ceremonies::client_ip.eq(ip),
            webauthn_ceremonies::expires_at.eq(now + CEREMONY_TTL),
        ))
        .execute(c)?;
    Ok(Some(id))
}

/// Takes (deletes) a ceremony: each challenge is answered at most once.
fn take_ceremony<T: serde::de::DeserializeOwned>(
    c: &mut DbConn,
    id: &str,
    user: Option<&User>,
    kind: &str,
    now: NaiveDateTime,
) -> anyhow::Result<Option<T>> {
    let row: Option<(Option<String>, String, String, NaiveDateTime)> = webauthn_ceremonies::table
        .find(id)
        .select((
            webauthn_ceremonies::user_id,
            webauthn_ceremonies::kind,
            webauthn_ceremonies::state,
            webauthn_ceremonies::expires_at,
        ))
        .first(c)
        .optional()?;
    // Whoever deletes the row uses it: of two requests with the same answer, one.
    let taken = diesel::delete(webauthn_ceremonies::table.find(id)).execute(c)?;
    let (1, Some((owner, k, state, expires))) = (taken, row) else {
        return Ok(None);
    };
    if k != kind || expires < now || owner.as_deref() != user.map(|u| u.id.as_str()) {
        return Ok(None);
    }
    Ok(Some(serde_json::from_str(&state)?))
}

/// Starts registering a passkey for `user` (their existing ones excluded). Returns the options
/// for `navigator.credentials.create` and the ceremony's id.
pub fn start_registration(
    c: &mut DbConn,
    ctx: &Context,
    rp: &Webauthn,
    user: &User,
) -> anyhow::Result<Started<CreationChallengeResponse>> {
    let existing = mfa::factors(c, &user.id)?.passkeys;
    let exclude = existing
        .iter()
        .map(|r| stored(r).map(|p| p.cred_id().clone()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (options, state) = rp
        .start_passkey_registration(
            handle(user)?,
            &user.email,
            &user.display_name,
            Some(exclude),
        )
        .map_err(|e| anyhow::anyhow!("starting a passkey registration: {e}"))?;
    let id = save_ceremony(c, ctx, Some(user), "register", &state)?;
    Ok(started(options, id))
}

/// How finishing a registration ended.
#[derive(Debug)]
pub enum Registered {
    Added(Added),
    /// The browser's answer did not verify (or the challenge expired or was used).
    Invalid(String),
}

/// What the browser sent back to finish adding a passkey.
pub struct NewPasskey<'a> {
    /// The ceremony this session started (`start_registration`).
    pub ceremony: &'a str,
    /// The name the user gave it.
    pub name: &'a str,
    /// The browser's answer (JSON).
    pub answer: &'a str,
}

/// Finishes registering: verifies the browser's answer against the ceremony and stores the
/// passkey under its name, with its audit entry and email (and recovery codes when it is the
/// user's first factor).
pub fn finish_registration(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    rp: &Webauthn,
    user: &User,
    new: NewPasskey<'_>,
) -> anyhow::Result<Registered> {
    let NewPasskey {
        ceremony,
        name,
        answer,
    } = new;
    let Some(state) =
        take_ceremony::<PasskeyRegistration>(c, ceremony, Some(user), "register", ctx.now)?
    else {
        return Ok(Registered::Invalid(
            "The passkey prompt expired. Please try again.".into(),
        ));
    };
    let Ok(answer) = serde_json::from_str::<RegisterPublicKeyCredential>(answer) else {
        return Ok(Registered::Invalid(
            "The browser's answer could not be read. Please try again.".into(),
        ));
    };
    let key = match rp.finish_passkey_registration(&answer, &state) {
        Ok(k) => k,
        Err(e) => {
            return Ok(Registered::Invalid(format!(
                "The passkey could not be verified ({e}). Please try again."
            )))
        }
    };
    mfa::lock_user(c, &user.id)?;
    let credential_id = credential_key(key.cred_id().as_ref());
    let taken: i64 = passkeys::table
        .filter(passkeys::credential_id.eq(&credential_id))
        .count()
        .get_result(c)?;
    if taken > 0 {
        return Ok(Registered::Invalid(
            "This passkey is already registered.".into(),
        ));
    }
    let first = !mfa::has_any(c, &user.id)?;
    diesel::insert_into(passkeys::table)
        .values((
            passkeys::id.eq(db::new_id()),
            passkeys::user_id.eq(&user.id),
            passkeys::name.eq(name),
            passkeys::credential_id.eq(&credential_id),
            passkeys::passkey.eq(serde_json::to_string(&key)?),
            passkeys::created_at.eq(ctx.now),
        ))
        .execute(c)?;
    Ok(Registered::Added(mfa::added(
        c,
        ctx,
        settings,
        user,
        first,
        "mfa.passkey_added",
        format!("A passkey named “{name}” was added to your account."),
    )?))
}

/// Starts using one of `user`'s passkeys (as the second factor, or to confirm a sensitive
/// action). `None` when the user has no passkey.
pub fn start_authentication(
    c: &mut DbConn,
    ctx: &Context,
    rp: &Webauthn,
    user: &User,
) -> anyhow::Result<Started<RequestChallengeResponse>> {
    let keys = mfa::factors(c, &user.id)?
        .passkeys
        .iter()
        .map(stored)
        .collect::<anyhow::Result<Vec<_>>>()?;
    if keys.is_empty() {
        return Ok(Started::NoPasskey);
    }
    let (options, state) = rp
        .start_passkey_authentication(&keys)
        .map_err(|e| anyhow::anyhow!("starting a passkey authentication: {e}"))?;
    let id = save_ceremony(c, ctx, Some(user), "authenticate", &state)?;
    Ok(started(options, id))
}

/// Records a use of the passkey `result` came from (its counter and last use).
fn used(
    c: &mut DbConn,
    row: &mfa::PasskeyRow,
    result: &webauthn_rs::prelude::AuthenticationResult,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    let mut key = stored(row)?;
    key.update_credential(result);
    diesel::update(passkeys::table.find(&row.id))
        .set((
            passkeys::passkey.eq(serde_json::to_string(&key)?),
            passkeys::last_used_at.eq(Some(now)),
        ))
        .execute(c)?;
    Ok(())
}

/// Checks a passkey answer for `user`, throttled and audited like a code (`mfa::check_code`).
pub fn check_answer(
    c: &mut DbConn,
    ctx: &Context,
    rp: &Webauthn,
    user: &User,
    ceremony: &str,
    answer: &str,
) -> anyhow::Result<Checked> {
    mfa::throttled(c, ctx, user, |c| {
        let state = take_ceremony::<PasskeyAuthentication>(
            c,
            ceremony,
            Some(user),
            "authenticate",
            ctx.now,
        )?;
        if state.is_none() {
            tracing::info!("a passkey answer came without its challenge (expired or used)");
        }
        let answer = serde_json::from_str::<PublicKeyCredential>(answer)
            .inspect_err(|e| tracing::info!(error = %e, "a passkey answer could not be read"))
            .ok();
        let (Some(state), Some(answer)) = (state, answer) else {
            return Ok(None);
        };
        let Ok(result) = rp
            .finish_passkey_authentication(&answer, &state)
            .inspect_err(|e| tracing::info!(error = %e, "a passkey answer did not verify"))
        else {
            return Ok(None);
        };
        let id = credential_key(result.cred_id().as_ref());
        let rows = mfa::factors(c, &user.id)?.passkeys;
        let Some(row) = rows.iter().find(|r| r.credential_id == id) else {
            return Ok(None);
        };
        used(c, row, &result, ctx.now)?;
        Ok(Some(None))
    })
}

/// Starts a sign-in with a passkey alone: the browser offers the user's discoverable passkeys
/// for this site.
pub fn start_discovery(
    c: &mut DbConn,
    ctx: &Context,
    rp: &Webauthn,
) -> anyhow::Result<Started<RequestChallengeResponse>> {
    let (mut options, state) = rp
        .start_discoverable_authentication()
        .map_err(|e| anyhow::anyhow!("starting a passkey sign-in: {e}"))?;
    // A button, not the autofill prompt: the browser asks at once.
    options.mediation = None;
    let id = save_ceremony(c, ctx, None, "discover", &state)?;
    Ok(started(options, id))
}

/// Finishes a sign-in with a passkey alone: the user the passkey belongs to, if it verifies.
/// The caller checks the account's status; failures are counted against the address.
pub fn finish_discovery(
    c: &mut DbConn,
    ctx: &Context,
    rp: &Webauthn,
    ceremony: &str,
    answer: &str,
) -> anyhow::Result<Result<User, Option<i64>>> {
    let reservation = match throttle::admit_address(c, ctx.client_ip(), ctx.now)? {
        Gate::Locked { minutes } => return Ok(Err(Some(minutes))),
        Gate::Open { reservation } => reservation,
    };
    let state =
        take_ceremony::<DiscoverableAuthentication>(c, ceremony, None, "discover", ctx.now)?;
    let answer = serde_json::from_str::<PublicKeyCredential>(answer).ok();
    let (Some(state), Some(answer)) = (state, answer) else {
        ctx.audit("login.failed").record(c, ctx.now)?;
        return Ok(Err(None));
    };
    let found = rp
        .identify_discoverable_authentication(&answer)
        .ok()
        .map(|(_, cred)| credential_key(cred));
    let row = match found {
        Some(id) => passkeys::table
            .filter(passkeys::credential_id.eq(id))
            .select(mfa::PasskeyRow::as_select())
            .first(c)
            .optional()?,
        None => None,
    };
    if let Some(row) = row {
        let key: DiscoverableKey = (&stored(&row)?).into();
        if let Ok(result) = rp.finish_discoverable_authentication(&answer, state, &[key]) {
            if let Some(user) = users::find(c, &row.user_id)? {
                used(c, &row, &result, ctx.now)?;
                if let Some(r) = reservation {
                    throttle::withdraw(c, &r)?;
                }
                return Ok(Ok(user));
            }
        }
    }
    ctx.audit("login.failed").record(c, ctx.now)?;
    Ok(Err(None))
}
