//! Second factors: an authenticator app (TOTP, RFC 6238, by `totp-rs`), passkeys (WebAuthn, by
//! `webauthn-rs`, in [`super::passkeys`]) and ten single-use recovery codes. Each change is one
//! transaction with its audit entry and its email to the user; codes are checked under the same
//! throttle as passwords (counted per user and per address).

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng as AeadRng};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::TryRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::throttle::{self, Gate};
use crate::context::Context;
use crate::db::models::users::{self, User};
use crate::db::schema::{passkeys, recovery_codes, totp_factors};
use crate::db::{self, DbConn};
use crate::email::messages::SecurityChanged;
use crate::email::outbox;
use crate::settings::Settings;

/// Seconds per TOTP step, digits per code, steps of clock drift accepted either way.
pub const TOTP_STEP: u64 = 30;
const TOTP_DIGITS: usize = 6;
const TOTP_SKEW: i64 = 1;
/// Recovery codes made at a time.
pub const RECOVERY_CODES: usize = 10;

/// Encrypts second-factor secrets at rest: AES-256-GCM under a key derived (HKDF-SHA256) from
/// the portal's secret key (`PORTAL_SECRET_KEY`, or the generated key file).
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl Sealer {
    pub fn new(master: &[u8]) -> Self {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"concat-portal"), master);
        let mut key = [0u8; 32];
        hk.expand(b"second factors v1", &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Self {
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    pub fn seal(&self, plain: &[u8]) -> anyhow::Result<String> {
        let nonce = Aes256Gcm::generate_nonce(&mut AeadRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, plain)
            .map_err(|_| anyhow::anyhow!("sealing a secret failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> anyhow::Result<Vec<u8>> {
        let raw = base64::engine::general_purpose::STANDARD.decode(sealed)?;
        if raw.len() < 12 {
            anyhow::bail!("a sealed secret is too short");
        }
        let (nonce, body) = raw.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| {
                anyhow::anyhow!("a sealed secret could not be opened (was the secret key changed?)")
            })
    }
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// A user's second factors, as the account page shows them.
#[derive(Debug, Clone, Default)]
pub struct Factors {
    pub passkeys: Vec<PasskeyRow>,
    pub totp: Option<TotpRow>,
    pub recovery_left: i64,
}

impl Factors {
    pub fn any(&self) -> bool {
        !self.passkeys.is_empty() || self.totp.is_some()
    }

    /// How many factors (each passkey counts; the app counts once).
    pub fn count(&self) -> usize {
        self.passkeys.len() + usize::from(self.totp.is_some())
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = passkeys)]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub credential_id: String,
    pub passkey: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = totp_factors)]
pub struct TotpRow {
    pub user_id: String,
    pub secret_sealed: String,
    pub last_used_step: Option<i64>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

pub fn factors(c: &mut DbConn, user_id: &str) -> QueryResult<Factors> {
    Ok(Factors {
        passkeys: passkeys::table
            .filter(passkeys::user_id.eq(user_id))
            .order(passkeys::created_at.asc())
            .select(PasskeyRow::as_select())
            .load(c)?,
        totp: totp_factors::table
            .find(user_id)
            .select(TotpRow::as_select())
            .first(c)
            .optional()?,
        recovery_left: recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::used_at.is_null())
            .count()
            .get_result(c)?,
    })
}

/// Serializes changes to one user's factors (a double submit, two tabs): a PostgreSQL advisory
/// lock for the transaction; SQLite's write transactions are serialized already.
pub(crate) fn lock_user(c: &mut DbConn, user_id: &str) -> QueryResult<()> {
    db::lock_key(c, &format!("mfa:user:{user_id}"))
}

/// Whether the user has any second factor (one read).
pub fn has_any(c: &mut DbConn, user_id: &str) -> QueryResult<bool> {
    Ok(factors(c, user_id)?.any())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng
        .try_fill_bytes(&mut b)
        .expect("the OS random number generator failed");
    b
}

/// A new authenticator-app secret: 160 random bits (RFC 4226's recommended length).
pub fn new_totp_secret() -> Vec<u8> {
    random_bytes::<20>().to_vec()
}

fn totp(secret: Vec<u8>, account: &str) -> anyhow::Result<totp_rs::TOTP> {
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        TOTP_DIGITS,
        0,
        TOTP_STEP,
        secret,
        Some("ConCat".to_string()),
        account.to_string(),
    )
    .map_err(|e| anyhow::anyhow!("an authenticator secret: {e}"))
}

/// What the enrolment page shows: the secret for typing in, the `otpauth://` link and its QR
/// code (an SVG drawn on the server).
pub struct TotpSetup {
    pub base32: String,
    pub url: String,
    pub qr_svg: String,
}

pub fn totp_setup(secret: &[u8], account: &str) -> anyhow::Result<TotpSetup> {
    let t = totp(secret.to_vec(), account)?;
    let url = t.get_url();
    let qr = qrcode::QrCode::new(url.as_bytes())?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(TotpSetup {
        base32: t.get_secret_base32(),
        url,
        qr_svg,
    })
}

/// The time step `code` belongs to, if it is the code of `now`'s step or one step either side.
fn matching_step(secret: &[u8], code: &str, now: NaiveDateTime) -> anyhow::Result<Option<i64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != TOTP_DIGITS || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let t = totp(secret.to_vec(), "")?;
    let step = now.and_utc().timestamp().max(0) / TOTP_STEP as i64;
    let mut found = None;
    for s in (step - TOTP_SKEW)..=(step + TOTP_SKEW) {
        let expected = t.generate((s.max(0) as u64) * TOTP_STEP);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(s);
        }
    }
    Ok(found)
}

/// The TOTP code of `secret` at `at` (for tests and the CLI; the server never shows one).
pub fn totp_code(secret: &[u8], at: NaiveDateTime) -> anyhow::Result<String> {
    Ok(totp(secret.to_vec(), "")?.generate(at.and_utc().timestamp().max(0) as u64))
}

/// Recovery codes as shown: 24 characters of a 31-letter unambiguous alphabet (about 119
/// random bits, so an unsalted digest is safe to store: ASVS asks for a slow salted hash only
/// below 112 bits), in four groups of six.
fn new_recovery_code() -> String {
    use rand::seq::IndexedRandom;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng.unwrap_err();
    let chars: Vec<char> = (0..24)
        .map(|_| *ALPHABET.choose(&mut rng).expect("a non-empty alphabet") as char)
        .collect();
    chars
        .chunks(6)
        .map(|g| g.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(normal.as_bytes()))
}

/// Replaces the user's recovery codes with ten new ones (returned to be shown once; only their
/// SHA-256 is stored: each has about 119 random bits, and every guess is throttled).
fn replace_recovery_codes(
    c: &mut DbConn,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(c)?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    for code in &codes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::id.eq(db::new_id()),
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(recovery_hash(code)),
                recovery_codes::created_at.eq(now),
            ))
            .execute(c)?;
    }
    Ok(codes)
}

/// Audits `action` on `user` and emails them `what`.
fn announce(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    user: &User,
    action: &str,
    what: String,
) -> anyhow::Result<()> {
    ctx.audit(action)
        .target("user", &user.id)
        .record(c, ctx.now)?;
    let message = SecurityChanged {
        name: user.display_name.clone(),
        what,
        when: crate::clock::when(&ctx.now),
        security_link: settings.link("/account/security"),
    };
    let key = format!("security_changed:{}:{}", user.id, db::new_id());
    outbox::enqueue(c, &user.email, &message, &key, ctx.now)?;
    Ok(())
}

/// How adding a factor ended.
#[derive(Debug)]
pub enum Added {
    /// Added; when it is the user's first factor, their new recovery codes (shown once).
    Done { recovery_codes: Option<Vec<String>> },
    /// The code typed does not match the secret being enrolled.
    WrongCode,
}

/// Turns on the authenticator app with `secret` once the user proves it with `code`. The
/// code's step is spent (it cannot sign in afterwards). A first factor comes with recovery
/// codes.
pub fn enable_totp(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    sealer: &Sealer,
    user: &User,
    secret: &[u8],
    code: &str,
) -> anyhow::Result<Added> {
    let Some(step) = matching_step(secret, code, ctx.now)? else {
        return Ok(Added::WrongCode);
    };
    lock_user(c, &user.id)?;
    let first = !has_any(c, &user.id)?;
    diesel::delete(totp_factors::table.find(&user.id)).execute(c)?;
    diesel::insert_into(totp_factors::table)
        .values((
            totp_factors::user_id.eq(&user.id),
            totp_factors::secret_sealed.eq(sealer.seal(secret)?),
            totp_factors::last_used_step.eq(Some(step)),
            totp_factors::created_at.eq(ctx.now),
        ))
        .execute(c)?;
    added(
        c,
        ctx,
        settings,
        user,
        first,
        "mfa.totp_added",
        "An authenticator app was set up for your account.".into(),
    )
}

/// The common end of adding a factor: recovery codes for a first factor, audit, email.
pub(crate) fn added(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    user: &User,
    first: bool,
    action: &str,
    what: String,
) -> anyhow::Result<Added> {
    let recovery_codes = if first {
        Some(replace_recovery_codes(c, &user.id, ctx.now)?)
    } else {
        None
    };
    let what = if first {
        format!("{what} Ten recovery codes were made for it.")
    } else {
        what
    };
    announce(c, ctx, settings, user, action, what)?;
    Ok(Added::Done { recovery_codes })
}

/// How removing a factor ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Removed {
    Done,
    /// Nothing to remove (already gone, or not this user's).
    NotFound,
    /// It is the user's last factor and the sign-in policy requires one.
    LastRequired,
}

/// Whether the policy requires `user` to keep a second factor.
pub fn required_for(c: &mut DbConn, settings: &Settings, user: &User) -> QueryResult<bool> {
    let roles = users::roles(c, &user.id)?;
    Ok(settings
        .require_mfa
        .covers(user.is_concat_admin, roles.organizations > 0))
}

fn removing(
    c: &mut DbConn,
    settings: &Settings,
    user: &User,
) -> QueryResult<Result<Factors, Removed>> {
    lock_user(c, &user.id)?;
    let f = factors(c, &user.id)?;
    if f.count() == 1 && required_for(c, settings, user)? {
        return Ok(Err(Removed::LastRequired));
    }
    Ok(Ok(f))
}

/// Removing the last factor also removes the recovery codes (they stood in for it).
fn removed(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    user: &User,
    action: &str,
    what: String,
) -> anyhow::Result<Removed> {
    let what = if has_any(c, &user.id)? {
        what
    } else {
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(&user.id)))
            .execute(c)?;
        format!("{what} Your account no longer has a second factor.")
    };
    announce(c, ctx, settings, user, action, what)?;
    Ok(Removed::Done)
}

pub fn remove_totp(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    user: &User,
) -> anyhow::Result<Removed> {
    let f = match removing(c, settings, user)? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    if f.totp.is_none() {
        return Ok(Removed::NotFound);
    }
    diesel::delete(totp_factors::table.find(&user.id)).execute(c)?;
    removed(
        c,
        ctx,
        settings,
        user,
        "mfa.totp_removed",
        "The authenticator app was removed from your account.".into(),
    )
}

pub fn remove_passkey(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    user: &User,
    passkey_id: &str,
) -> anyhow::Result<Removed> {
    let f = match removing(c, settings, user)? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let Some(key) = f.passkeys.iter().find(|p| p.id == passkey_id) else {
        return Ok(Removed::NotFound);
    };
    diesel::delete(passkeys::table.find(&key.id)).execute(c)?;
    removed(
        c,
        ctx,
        settings,
        user,
        "mfa.passkey_removed",
        format!(
            "The passkey named “{}” was removed from your account.",
            key.name
        ),
    )
}

/// New recovery codes for a user who has a factor (the old ones stop working).
pub fn regenerate_recovery_codes(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    user: &User,
) -> anyhow::Result<Option<Vec<String>>> {
    lock_user(c, &user.id)?;
    if !has_any(c, &user.id)? {
        return Ok(None);
    }
    let codes = replace_recovery_codes(c, &user.id, ctx.now)?;
    announce(
        c,
        ctx,
        settings,
        user,
        "mfa.recovery_codes_regenerated",
        "New recovery codes were made for your account; the old ones no longer work.".into(),
    )?;
    Ok(Some(codes))
}

/// How a ConCat admin's reset of another user's factors ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Reset {
    Done,
    /// No one resets their own factors this way (they need a factor or a recovery code).
    OwnAccount,
}

/// Removes every second factor and recovery code of `target`, ends all their sessions, audits
/// and emails it. The CLI uses it too (`admin reset-mfa`), for when every admin is locked out.
pub fn reset_factors(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    target: &User,
) -> anyhow::Result<Reset> {
    if ctx.user_id() == Some(target.id.as_str()) {
        return Ok(Reset::OwnAccount);
    }
    lock_user(c, &target.id)?;
    diesel::delete(passkeys::table.filter(passkeys::user_id.eq(&target.id))).execute(c)?;
    diesel::delete(totp_factors::table.find(&target.id)).execute(c)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(&target.id)))
        .execute(c)?;
    users::bump_session_version(c, &target.id, ctx.now)?;
    announce(
        c,
        ctx,
        settings,
        target,
        "mfa.reset",
        "ConCat support removed every second factor and recovery code of your account, and signed out all its sessions. Set up a new factor when you next sign in.".into(),
    )?;
    Ok(Reset::Done)
}

/// What checking a typed code (an authenticator code or a recovery code) found.
#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    /// Correct. `recovery_left` is set when a recovery code was spent.
    Verified {
        recovery_left: Option<i64>,
    },
    Wrong,
    /// Too many wrong codes (or passwords) for this account or address; retry in `minutes`.
    Locked {
        minutes: i64,
    },
}

/// The throttle key of second-factor attempts for a user (kept apart from password failures
/// of the same account, but sharing the per-address count).
pub fn throttle_key(user: &User) -> String {
    format!("mfa:{}", user.email_normalized)
}

/// Checks `code` for `user` (an authenticator code of this step or one either side, not spent
/// before; or an unused recovery code), throttled like a password. One transaction: the
/// throttle's reservation, the spent step or code, the audit entry (and the email when a
/// recovery code is used).
pub fn check_code(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    sealer: &Sealer,
    user: &User,
    code: &str,
) -> anyhow::Result<Checked> {
    throttled(c, ctx, user, |c| {
        code_matches(c, ctx, settings, sealer, user, code)
    })
}

/// Every second-factor check (a code here, a passkey in `passkeys`) inside one frame: the
/// throttle's gate (per user under [`throttle_key`], and per address), then `check`; a proof
/// that checks out (`Some(recovery_left)`) releases the user's failures, one that does not is
/// audited `mfa.failed` and keeps its reserved failure.
pub(crate) fn throttled(
    c: &mut DbConn,
    ctx: &Context,
    user: &User,
    check: impl FnOnce(&mut DbConn) -> anyhow::Result<Option<Option<i64>>>,
) -> anyhow::Result<Checked> {
    let key = throttle_key(user);
    if let Gate::Locked { minutes } = throttle::admit(c, &key, ctx.client_ip(), ctx.now)? {
        ctx.audit("mfa.locked")
            .target("user", &user.id)
            .record(c, ctx.now)?;
        return Ok(Checked::Locked { minutes });
    }
    match check(c)? {
        Some(recovery_left) => {
            throttle::release(c, &key)?;
            Ok(Checked::Verified { recovery_left })
        }
        None => {
            ctx.audit("mfa.failed")
                .target("user", &user.id)
                .record(c, ctx.now)?;
            Ok(Checked::Wrong)
        }
    }
}

/// Whether `code` is an unspent authenticator code or an unused recovery code of `user`
/// (spending it): `Some(None)`, `Some(Some(recovery codes left))`, or `None`.
fn code_matches(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    sealer: &Sealer,
    user: &User,
    code: &str,
) -> anyhow::Result<Option<Option<i64>>> {
    let f = factors(c, &user.id)?;
    // An authenticator secret sealed under another key (the secret key was changed) cannot be
    // checked: recovery codes still work, and an admin can reset the factors.
    let secret = f.totp.as_ref().and_then(|row| match sealer.open(&row.secret_sealed) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(user = %user.id, error = %e, "an authenticator secret could not be opened");
            None
        }
    });
    if let Some(secret) = secret {
        if let Some(step) = matching_step(&secret, code, ctx.now)? {
            // Spent only if no later step was (the condition holds under any concurrency).
            let spent = diesel::update(
                totp_factors::table.find(&user.id).filter(
                    totp_factors::last_used_step
                        .is_null()
                        .or(totp_factors::last_used_step.lt(step)),
                ),
            )
            .set((
                totp_factors::last_used_step.eq(Some(step)),
                totp_factors::last_used_at.eq(Some(ctx.now)),
            ))
            .execute(c)?;
            if spent == 1 {
                return Ok(Some(None));
            }
        }
    }
    let hash = recovery_hash(code);
    let spent = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(&user.id))
            .filter(recovery_codes::code_hash.eq(&hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(Some(ctx.now)))
    .execute(c)?;
    if spent > 0 {
        let left = f.recovery_left - 1;
        announce(
            c,
            ctx,
            settings,
            user,
            "mfa.recovery_code_used",
            format!("A recovery code was used to sign in to your account; {left} remain unused."),
        )?;
        return Ok(Some(Some(left)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_same_key() {
        let a = Sealer::new(&[7u8; 64]);
        let sealed = a.seal(b"a secret").unwrap();
        assert_eq!(a.open(&sealed).unwrap(), b"a secret");
        assert!(!sealed.contains("a secret"));
        assert!(Sealer::new(&[8u8; 64]).open(&sealed).is_err());
        assert_ne!(
            a.seal(b"a secret").unwrap(),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn codes_match_their_step_and_one_either_side() {
        let secret = new_totp_secret();
        let now = chrono::DateTime::from_timestamp(1_800_000_015, 0)
            .unwrap()
            .naive_utc();
        let step = 1_800_000_015 / 30;
        for (offset, want) in [
            (-60, None),
            (-30, Some(step - 1)),
            (0, Some(step)),
            (30, Some(step + 1)),
            (60, None),
        ] {
            let code = totp_code(&secret, now + chrono::Duration::seconds(offset)).unwrap();
            let got = matching_step(&secret, &code, now).unwrap();
            // A code of a far step may collide with a near one by chance (1 in 10^6 per step).
            if want.is_some() {
                assert_eq!(got, want, "offset {offset}");
            }
        }
        assert_eq!(matching_step(&secret, "12345", now).unwrap(), None);
        assert_eq!(matching_step(&secret, "abcdef", now).unwrap(), None);
    }

    #[test]
    fn recovery_codes_are_compared_without_case_or_dashes() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 27);
        assert_eq!(code.chars().filter(|c| *c == '-').count(), 3);
        assert_eq!(
            recovery_hash(&code),
            recovery_hash(&code.to_uppercase().replace('-', " "))
        );
        assert_ne!(recovery_hash(&code), recovery_hash(&new_recovery_code()));
    }
}
