//! One type per message. Each renders a plain-text and an HTML body from
//! `templates/email/<name>.txt` and `.html`. Messages carry links, never secrets.

use askama::Template;

pub trait EmailMessage {
    /// Stable name of the message type (stored in the outbox, shown to admins).
    fn kind(&self) -> &'static str;
    fn subject(&self) -> String;
    fn render_text(&self) -> askama::Result<String>;
    fn render_html(&self) -> askama::Result<String>;
}

macro_rules! email_bodies {
    ($msg:ty, $kind:literal, $text:ident, $html:ident) => {
        impl EmailMessage for $msg {
            fn kind(&self) -> &'static str {
                $kind
            }
            fn subject(&self) -> String {
                self.subject_line()
            }
            fn render_text(&self) -> askama::Result<String> {
                $text { m: self }.render()
            }
            fn render_html(&self) -> askama::Result<String> {
                $html { m: self }.render()
            }
        }
    };
}

/// "Forgot password" link (valid one hour, single use).
pub struct PasswordReset {
    pub name: String,
    pub link: String,
}

impl PasswordReset {
    fn subject_line(&self) -> String {
        "Reset your ConCat developer portal password".into()
    }
}

#[derive(Template)]
#[template(path = "email/password_reset.txt")]
struct PasswordResetText<'a> {
    m: &'a PasswordReset,
}

#[derive(Template)]
#[template(path = "email/password_reset.html")]
struct PasswordResetHtml<'a> {
    m: &'a PasswordReset,
}

email_bodies!(
    PasswordReset,
    "password_reset",
    PasswordResetText,
    PasswordResetHtml
);

/// Sent after any password change, so an unexpected change does not go unnoticed.
pub struct PasswordChanged {
    pub name: String,
    pub when: String,
    pub reset_link: String,
}

impl PasswordChanged {
    fn subject_line(&self) -> String {
        "Your ConCat developer portal password was changed".into()
    }
}

#[derive(Template)]
#[template(path = "email/password_changed.txt")]
struct PasswordChangedText<'a> {
    m: &'a PasswordChanged,
}

#[derive(Template)]
#[template(path = "email/password_changed.html")]
struct PasswordChangedHtml<'a> {
    m: &'a PasswordChanged,
}

email_bodies!(
    PasswordChanged,
    "password_changed",
    PasswordChangedText,
    PasswordChangedHtml
);

/// An invitation to the portal with a set-password link (valid seven days, single use).
pub struct Invitation {
    pub name: String,
    pub invited_by: String,
    /// What the invitation is for, e.g. "a ConCat administrator".
    pub role: String,
    pub link: String,
}

impl Invitation {
    fn subject_line(&self) -> String {
        "You have been invited to the ConCat developer portal".into()
    }
}

#[derive(Template)]
#[template(path = "email/invitation.txt")]
struct InvitationText<'a> {
    m: &'a Invitation,
}

#[derive(Template)]
#[template(path = "email/invitation.html")]
struct InvitationHtml<'a> {
    m: &'a Invitation,
}

email_bodies!(Invitation, "invitation", InvitationText, InvitationHtml);
