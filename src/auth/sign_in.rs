//! Signing in and out: the throttle, the password check (on the one hashing gate), the
//! suspension check, and the audit entry of each outcome. The HTTP side (the form, the session
//! cookie, where to land) is `web::public::login`.

use super::password::{HashError, PasswordHasher};
use super::throttle::{self, Gate};
use crate::audit::Actor;
use crate::context::{Context, RequestContext};
use crate::db::models::users::{self, User};
use crate::db::{self, DbConn, Pool};
use crate::domain::{EmailAddress, PasswordInput};

/// How a sign-in ended.
#[derive(Debug)]
pub enum SignIn {
    /// The password matched an active account: start its session.
    SignedIn(User),
    /// No such account, or the wrong password (one answer for both).
    Invalid,
    /// Too many failures for this account or address; retry in `minutes`.
    Locked { minutes: i64 },
    /// The password matched, but a ConCat admin suspended the account.
    Suspended,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Every hashing worker is busy: try again shortly (nothing was counted).
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Checks `typed_email` and `password` from the request's address at its `now`.
///
/// Something that cannot be an account's email is never looked up nor hashed (no account can
/// match, so there is nothing to time): it is answered at once, like any wrong credentials, and
/// counts as a failure for the client address. A sign-in that would need a hash while the
/// hashing queue is full is refused before it costs a database write.
pub async fn sign_in(
    pool: &Pool,
    passwords: &PasswordHasher,
    rc: &RequestContext,
    typed_email: &str,
    password: PasswordInput,
) -> Result<SignIn, SignInError> {
    let (now, meta) = (rc.now, &rc.meta);
    let email = EmailAddress::parse(typed_email)
        .ok()
        .map(|_| typed_email.to_lowercase());
    if email.is_some() && !passwords.has_room() {
        return Err(HashError::Busy.into());
    }
    // The audit trail names what was typed (bounded, without control characters, which
    // PostgreSQL text cannot hold), or the normalized email.
    let audit_email: String = email.clone().unwrap_or_else(|| {
        typed_email
            .chars()
            .filter(|c| !c.is_control())
            .take(254)
            .collect()
    });

    let (e, a, m) = (email.clone(), audit_email.clone(), meta.clone());
    let (gate, user) = db::transaction(pool, move |c| {
        let ctx = Context::new(now, Actor::Anonymous(&a), &m);
        admit(c, &ctx, e.as_deref())
    })
    .await?;

    if let Gate::Locked { minutes } = gate {
        let (a, m) = (audit_email.clone(), meta.clone());
        db::run(pool, move |c| {
            let ctx = Context::new(now, Actor::Anonymous(&a), &m);
            Ok(ctx.audit("login.locked").record(c, now)?)
        })
        .await?;
        return Ok(SignIn::Locked { minutes });
    }
    if email.is_none() {
        return Ok(SignIn::Invalid);
    }

    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    // Over-long input is never hashed as typed; the dummy check keeps the timing the same.
    let checked = if password.is_plausible() {
        passwords.verify(stored, password).await
    } else {
        passwords
            .verify(None, PasswordInput::new(String::new()))
            .await
            .map(|_| false)
    };
    let verified = given_back_if_busy(pool, gate, checked).await?;

    let meta = meta.clone();
    let Some(user) = user.filter(|_| verified) else {
        // The failure was already counted by `admit`; here it is only audited.
        db::run(pool, move |c| {
            let ctx = Context::new(now, Actor::Anonymous(&audit_email), &meta);
            Ok(ctx.audit("login.failed").record(c, now)?)
        })
        .await?;
        return Ok(SignIn::Invalid);
    };

    if !user.is_active() {
        db::run(pool, move |c| {
            let ctx = Context::new(now, Actor::from(&user), &meta);
            Ok(ctx
                .audit("login.refused_suspended")
                .target("user", &user.id)
                .record(c, now)?)
        })
        .await?;
        return Ok(SignIn::Suspended);
    }

    db::transaction(pool, move |c| {
        let ctx = Context::new(now, Actor::from(&user), &meta);
        succeeded(c, &ctx, &user)?;
        Ok(user)
    })
    .await
    .map(SignIn::SignedIn)
    .map_err(Into::into)
}

/// The result of a password check that `gate` reserved a failure for. A check the hasher was
/// too busy to run did not happen, so it is not a failure: the reservation is given back and
/// the `Busy` error comes out.
async fn given_back_if_busy(
    pool: &Pool,
    gate: Gate,
    checked: Result<bool, HashError>,
) -> Result<bool, SignInError> {
    match checked {
        Ok(v) => Ok(v),
        Err(HashError::Busy) => {
            if let Gate::Open {
                reservation: Some(id),
            } = gate
            {
                db::transaction(pool, move |c| Ok(throttle::withdraw(c, &id)?)).await?;
            }
            Err(HashError::Busy.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Checks the throttle and reserves a failure (one write); for an email that cannot be an
/// account's, counts and audits the failure against the address in the same write.
fn admit(
    c: &mut DbConn,
    ctx: &Context,
    email: Option<&str>,
) -> anyhow::Result<(Gate, Option<User>)> {
    let ip = ctx.meta.map_or("unknown", |m| m.client_ip.as_str());
    Ok(match email {
        Some(e) => (
            throttle::admit(c, e, ip, ctx.now)?,
            users::find_by_email(c, e)?,
        ),
        None => {
            let gate = throttle::admit_address(c, ip, ctx.now)?;
            if matches!(gate, Gate::Open { .. }) {
                ctx.audit("login.failed").record(c, ctx.now)?;
            }
            (gate, None)
        }
    })
}

/// A sign-in that checked out: the reserved failure is released, and the sign-in audited.
/// For a user with a second factor the password is only the first step
/// (`login.password_verified`); `login.succeeded` comes with the factor.
fn succeeded(c: &mut DbConn, ctx: &Context, user: &User) -> anyhow::Result<()> {
    throttle::release(c, &user.email_normalized)?;
    let action = if crate::auth::mfa::has_any(c, &user.id)? {
        "login.password_verified"
    } else {
        "login.succeeded"
    };
    ctx.audit(action)
        .target("user", &user.id)
        .record(c, ctx.now)?;
    Ok(())
}

/// Signing out ends every session of the user (their session version moves on).
pub fn sign_out(c: &mut DbConn, ctx: &Context, user: &User) -> anyhow::Result<()> {
    users::bump_session_version(c, &user.id, ctx.now)?;
    ctx.audit("logout")
        .target("user", &user.id)
        .record(c, ctx.now)?;
    Ok(())
}

/// What checking a signed-in user's current password found (before a change of password).
#[derive(Debug, PartialEq, Eq)]
pub enum CurrentPassword {
    Correct,
    Wrong,
    /// Too many wrong passwords for this account or address; retry in `minutes`.
    Locked {
        minutes: i64,
    },
}

/// Checks the current password of a signed-in `user` from the request's address: throttled
/// like signing in (a guess from a stolen session counts as a failure), released when it
/// matches.
pub async fn check_current_password(
    pool: &Pool,
    passwords: &PasswordHasher,
    rc: &RequestContext,
    user: &User,
    candidate: PasswordInput,
) -> Result<CurrentPassword, SignInError> {
    let now = rc.now;
    let (email, ip) = (user.email_normalized.clone(), rc.meta.client_ip.clone());
    let gate = db::transaction(pool, move |c| Ok(throttle::admit(c, &email, &ip, now)?)).await?;
    if let Gate::Locked { minutes } = gate {
        return Ok(CurrentPassword::Locked { minutes });
    }
    let correct = candidate.is_plausible() && {
        let checked = passwords
            .verify(user.password_hash.clone(), candidate)
            .await;
        given_back_if_busy(pool, gate, checked).await?
    };
    if !correct {
        return Ok(CurrentPassword::Wrong);
    }
    let email = user.email_normalized.clone();
    db::transaction(pool, move |c| Ok(throttle::release(c, &email)?)).await?;
    Ok(CurrentPassword::Correct)
}
