//! "Forgot password": the state change behind the form. The handler answers before calling it
//! (through `Background`), so whether the email has an account never shows in the response or
//! its timing.

use crate::audit::Actor;
use crate::context::Context;
use crate::db::models::{tokens, users};
use crate::db::{lock_key, DbConn};
use crate::domain::{EmailAddress, OneTimeToken, TokenPurpose};
use crate::email::messages::PasswordChanged;
use crate::email::messages::PasswordReset;
use crate::email::outbox;
use crate::settings::Settings;

/// At most this many reset emails per account per hour.
pub const RESETS_PER_HOUR: i64 = 3;

/// Issues a reset link to `email`'s active account (at most `RESETS_PER_HOUR` an hour), with
/// its email and audit entry. Returns whether an email was queued; nothing happens for an
/// unknown or suspended account. Call inside a write transaction.
pub fn request_password_reset(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    email: &EmailAddress,
) -> anyhow::Result<bool> {
    let now = ctx.now;
    let Some(user) = users::find_by_email(c, &email.normalized())? else {
        return Ok(false);
    };
    // Requests for one account are judged one after another, so parallel ones cannot all
    // pass the hourly cap.
    lock_key(c, &format!("password_reset:{}", user.id))?;
    if !user.is_active()
        || tokens::count_recent(
            c,
            &user.id,
            TokenPurpose::PasswordReset,
            now - chrono::Duration::hours(1),
        )? >= RESETS_PER_HOUR
    {
        return Ok(false);
    }
    let token = OneTimeToken::generate();
    let digest = token.digest();
    tokens::insert(c, &digest, TokenPurpose::PasswordReset, Some(&user.id), now)?;
    let message = PasswordReset {
        name: user.display_name.clone(),
        link: settings.link(&format!("/reset-password/{}", token.expose())),
    };
    outbox::enqueue(
        c,
        &user.email,
        &message,
        &format!("password_reset:{digest}"),
        now,
    )?;
    ctx.audit_as("password.reset_requested", Actor::Anonymous(&user.email))
        .target("user", &user.id)
        .record(c, now)?;
    Ok(true)
}

/// Sets a password from a one-time link (`PasswordReset` or `Invitation`, whose digest is
/// `digest`), already hashed: the link is used up with every other link of that purpose for
/// the user, and a reset is confirmed by email. Returns the user as now stored (to start their
/// session), or `None` when the link is no longer valid.
pub fn set_password_from_link(
    c: &mut DbConn,
    ctx: &Context,
    settings: &Settings,
    user: &users::User,
    purpose: TokenPurpose,
    digest: &str,
    hash: &str,
) -> anyhow::Result<Option<users::User>> {
    // Suspended since the link was opened: the link no longer works.
    if !users::find(c, &user.id)?.is_some_and(|u| u.is_active()) {
        return Ok(None);
    }
    if !tokens::consume(c, digest, purpose, ctx.now)? {
        return Ok(None);
    }
    users::set_password(c, &user.id, hash, ctx.now)?;
    tokens::retire_for_user(c, &user.id, purpose, ctx.now)?;
    let action = match purpose {
        TokenPurpose::PasswordReset => "password.reset",
        _ => "password.set_from_invitation",
    };
    ctx.audit(action)
        .target("user", &user.id)
        .record(c, ctx.now)?;
    // The link proved the address: the handler starts the session, which is a sign-in — or,
    // for a user with a second factor, its first step (the factor comes next).
    let signed_in = if crate::auth::mfa::has_any(c, &user.id)? {
        "login.password_verified"
    } else {
        "login.succeeded"
    };
    ctx.audit(signed_in)
        .target("user", &user.id)
        .details(serde_json::json!({ "via": action }))
        .record(c, ctx.now)?;
    if purpose == TokenPurpose::PasswordReset {
        let message = PasswordChanged {
            name: user.display_name.clone(),
            when: crate::clock::when(&ctx.now),
            reset_link: settings.link("/forgot-password"),
        };
        outbox::enqueue(
            c,
            &user.email,
            &message,
            &format!("password_changed:{digest}"),
            ctx.now,
        )?;
    }
    Ok(users::find(c, &user.id)?)
}
