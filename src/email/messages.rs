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

/// Declares the two template structs of a message (`templates/email/<name>.txt` and `.html`,
/// each seeing the message as `m`) and implements `EmailMessage` with them.
macro_rules! email_templates {
    ($msg:ident, $kind:literal, $text:ident, $html:ident, $txt_path:literal, $html_path:literal) => {
        #[derive(Template)]
        #[template(path = $txt_path)]
        struct $text<'a> {
            m: &'a $msg,
        }

        #[derive(Template)]
        #[template(path = $html_path)]
        struct $html<'a> {
            m: &'a $msg,
        }

        email_bodies!($msg, $kind, $text, $html);
    };
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

email_templates!(
    PasswordReset,
    "password_reset",
    PasswordResetText,
    PasswordResetHtml,
    "email/password_reset.txt",
    "email/password_reset.html"
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

email_templates!(
    PasswordChanged,
    "password_changed",
    PasswordChangedText,
    PasswordChangedHtml,
    "email/password_changed.txt",
    "email/password_changed.html"
);

/// Sent after every change to a user's second factors (added, removed, recovery codes made
/// anew or used, reset by an admin), so that an unexpected change does not go unnoticed.
pub struct SecurityChanged {
    pub name: String,
    /// What changed, as a sentence ("A passkey named “Laptop” was added.").
    pub what: String,
    pub when: String,
    pub security_link: String,
}

impl SecurityChanged {
    fn subject_line(&self) -> String {
        "The sign-in security of your ConCat developer portal account changed".into()
    }
}

email_templates!(
    SecurityChanged,
    "security_changed",
    SecurityChangedText,
    SecurityChangedHtml,
    "email/security_changed.txt",
    "email/security_changed.html"
);

/// An invitation (team, organization admin, ConCat admin) with its accept link (seven days,
/// single use); the same words whether or not the invited email has an account.
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

email_templates!(
    Invitation,
    "invitation",
    InvitationText,
    InvitationHtml,
    "email/invitation.txt",
    "email/invitation.html"
);

/// To the requester: we received the access request; confirm it with the link (48 hours)
/// before it goes to review.
pub struct AccessRequestReceived {
    pub name: String,
    pub app_name: String,
    pub link: String,
}

impl AccessRequestReceived {
    fn subject_line(&self) -> String {
        format!(
            "We received your request for API access for {}",
            self.app_name
        )
    }
}

email_templates!(
    AccessRequestReceived,
    "access_request_received",
    AccessRequestReceivedText,
    AccessRequestReceivedHtml,
    "email/access_request_received.txt",
    "email/access_request_received.html"
);

/// To every ConCat admin: a request is waiting in the queue (new, or answered).
pub struct AccessRequestAdminNotice {
    pub admin_name: String,
    pub requester_name: String,
    pub company_name: String,
    pub app_name: String,
    /// "new" or "answered".
    pub event: &'static str,
    pub link: String,
}

impl AccessRequestAdminNotice {
    fn subject_line(&self) -> String {
        match self.event {
            "answered" => format!(
                "Access request answered: {} ({})",
                self.app_name, self.company_name
            ),
            _ => format!(
                "New access request: {} ({})",
                self.app_name, self.company_name
            ),
        }
    }
}

email_templates!(
    AccessRequestAdminNotice,
    "access_request_admin_notice",
    AccessRequestAdminNoticeText,
    AccessRequestAdminNoticeHtml,
    "email/access_request_admin_notice.txt",
    "email/access_request_admin_notice.html"
);

/// To the requester: approved. The link sets (or confirms) a password and reveals the secret.
pub struct AccessApproved {
    pub name: String,
    pub app_name: String,
    pub api_id: String,
    pub link: String,
    /// The requester already had an account (they confirm their password instead of setting one).
    pub existing_user: bool,
}

impl AccessApproved {
    fn subject_line(&self) -> String {
        format!("Your ConCat API access for {} is approved", self.app_name)
    }
}

email_templates!(
    AccessApproved,
    "access_approved",
    AccessApprovedText,
    AccessApprovedHtml,
    "email/access_approved.txt",
    "email/access_approved.html"
);

/// To the requester: rejected, with the reason.
pub struct AccessRejected {
    pub name: String,
    pub app_name: String,
    pub reason: String,
}

impl AccessRejected {
    fn subject_line(&self) -> String {
        format!("Your request for API access for {}", self.app_name)
    }
}

email_templates!(
    AccessRejected,
    "access_rejected",
    AccessRejectedText,
    AccessRejectedHtml,
    "email/access_rejected.txt",
    "email/access_rejected.html"
);

/// To the requester: ConCat needs more information; the link leads to the answer form.
pub struct AccessInfoRequested {
    pub name: String,
    pub app_name: String,
    pub message: String,
    pub link: String,
}

impl AccessInfoRequested {
    fn subject_line(&self) -> String {
        format!("More information needed for {}", self.app_name)
    }
}

email_templates!(
    AccessInfoRequested,
    "access_info_requested",
    AccessInfoRequestedText,
    AccessInfoRequestedHtml,
    "email/access_info_requested.txt",
    "email/access_info_requested.html"
);

/// To the developer who asked for another integration: approved, with its API ID.
pub struct IntegrationApproved {
    pub name: String,
    pub app_name: String,
    pub api_id: String,
    pub link: String,
}

impl IntegrationApproved {
    fn subject_line(&self) -> String {
        format!("Your new integration {} is approved", self.app_name)
    }
}

email_templates!(
    IntegrationApproved,
    "integration_approved",
    IntegrationApprovedText,
    IntegrationApprovedHtml,
    "email/integration_approved.txt",
    "email/integration_approved.html"
);

/// To the developer account's owners: an organization authorized the integration.
pub struct IntegrationAuthorized {
    pub name: String,
    pub app_name: String,
    pub org_name: String,
    pub org_public_id: String,
    pub scopes: String,
    /// Done by ConCat support at the organization's request.
    pub by_support: bool,
}

impl IntegrationAuthorized {
    fn subject_line(&self) -> String {
        format!("{} authorized {}", self.org_name, self.app_name)
    }
}

email_templates!(
    IntegrationAuthorized,
    "integration_authorized",
    IntegrationAuthorizedText,
    IntegrationAuthorizedHtml,
    "email/integration_authorized.txt",
    "email/integration_authorized.html"
);

/// To the developer account's owners: an organization revoked the integration; its data must
/// be deleted by the deadline.
pub struct IntegrationRevoked {
    pub name: String,
    pub app_name: String,
    pub org_name: String,
    pub org_public_id: String,
    pub revoked_at: String,
    pub deadline: String,
    pub by_support: bool,
    pub link: String,
}

impl IntegrationRevoked {
    fn subject_line(&self) -> String {
        format!(
            "{} revoked {}: delete its data by {}",
            self.org_name, self.app_name, self.deadline
        )
    }
}

email_templates!(
    IntegrationRevoked,
    "integration_revoked",
    IntegrationRevokedText,
    IntegrationRevokedHtml,
    "email/integration_revoked.txt",
    "email/integration_revoked.html"
);

/// To the owners: a deletion duty's deadline is near (7 days, then 1 day before).
pub struct DeletionReminder {
    pub name: String,
    pub app_name: String,
    pub org_name: String,
    pub org_public_id: String,
    pub deadline: String,
    pub days_left: i64,
    pub link: String,
}

impl DeletionReminder {
    fn subject_line(&self) -> String {
        format!(
            "Reminder: delete the data of {} from {} by {}",
            self.org_name, self.app_name, self.deadline
        )
    }
}

email_templates!(
    DeletionReminder,
    "deletion_reminder",
    DeletionReminderText,
    DeletionReminderHtml,
    "email/deletion_reminder.txt",
    "email/deletion_reminder.html"
);

/// To the owners: the deadline passed without a confirmed deletion.
pub struct DeletionOverdue {
    pub name: String,
    pub app_name: String,
    pub org_name: String,
    pub org_public_id: String,
    pub deadline: String,
    pub link: String,
}

impl DeletionOverdue {
    fn subject_line(&self) -> String {
        format!(
            "Overdue: the data of {} from {} was due for deletion",
            self.org_name, self.app_name
        )
    }
}

email_templates!(
    DeletionOverdue,
    "deletion_overdue",
    DeletionOverdueText,
    DeletionOverdueHtml,
    "email/deletion_overdue.txt",
    "email/deletion_overdue.html"
);

/// To every ConCat admin: a deletion duty is overdue.
pub struct DeletionOverdueAdmin {
    pub name: String,
    pub company_name: String,
    pub app_name: String,
    pub org_name: String,
    pub deadline: String,
    pub link: String,
}

impl DeletionOverdueAdmin {
    fn subject_line(&self) -> String {
        format!(
            "Overdue data deletion: {} ({}) for {}",
            self.app_name, self.company_name, self.org_name
        )
    }
}

email_templates!(
    DeletionOverdueAdmin,
    "deletion_overdue_admin",
    DeletionOverdueAdminText,
    DeletionOverdueAdminHtml,
    "email/deletion_overdue_admin.txt",
    "email/deletion_overdue_admin.html"
);

/// To the owners: the credentials will be revoked for inactivity unless the API is used.
pub struct InactivityWarning {
    pub name: String,
    pub app_name: String,
    pub api_id: String,
    pub last_activity: String,
    pub revoke_on: String,
    pub days_left: i64,
    pub link: String,
}

impl InactivityWarning {
    fn subject_line(&self) -> String {
        format!(
            "{} will lose its API access on {} unless it is used",
            self.app_name, self.revoke_on
        )
    }
}

email_templates!(
    InactivityWarning,
    "inactivity_warning",
    InactivityWarningText,
    InactivityWarningHtml,
    "email/inactivity_warning.txt",
    "email/inactivity_warning.html"
);

/// To the owners: the credentials were revoked after a year without use.
pub struct IntegrationDeactivated {
    pub name: String,
    pub app_name: String,
    pub api_id: String,
    pub last_activity: String,
    pub link: String,
}

impl IntegrationDeactivated {
    fn subject_line(&self) -> String {
        format!(
            "{}: API access revoked after a year without use",
            self.app_name
        )
    }
}

email_templates!(
    IntegrationDeactivated,
    "integration_deactivated",
    IntegrationDeactivatedText,
    IntegrationDeactivatedHtml,
    "email/integration_deactivated.txt",
    "email/integration_deactivated.html"
);

/// To every ConCat admin: a developer asks to reactivate an inactive integration.
pub struct ReactivationAdminNotice {
    pub name: String,
    pub company_name: String,
    pub app_name: String,
    pub requester: String,
    pub reason: String,
    pub link: String,
}

impl ReactivationAdminNotice {
    fn subject_line(&self) -> String {
        format!(
            "Reactivation requested: {} ({})",
            self.app_name, self.company_name
        )
    }
}

email_templates!(
    ReactivationAdminNotice,
    "reactivation_admin_notice",
    ReactivationAdminNoticeText,
    ReactivationAdminNoticeHtml,
    "email/reactivation_admin_notice.txt",
    "email/reactivation_admin_notice.html"
);

/// To the owners: a ConCat admin approved or declined the reactivation.
pub struct ReactivationDecided {
    pub name: String,
    pub app_name: String,
    pub approved: bool,
    pub note: String,
    pub link: String,
}

impl ReactivationDecided {
    fn subject_line(&self) -> String {
        if self.approved {
            format!("{} is active again", self.app_name)
        } else {
            format!("Reactivation of {} declined", self.app_name)
        }
    }
}

email_templates!(
    ReactivationDecided,
    "reactivation_decided",
    ReactivationDecidedText,
    ReactivationDecidedHtml,
    "email/reactivation_decided.txt",
    "email/reactivation_decided.html"
);

/// To the owners: confirmation that the integration is retired.
pub struct IntegrationRetired {
    pub name: String,
    pub app_name: String,
    pub api_id: String,
    pub by_support: bool,
    pub organizations: Vec<String>,
    pub link: String,
}

impl IntegrationRetired {
    fn subject_line(&self) -> String {
        format!("{} is retired", self.app_name)
    }
}

email_templates!(
    IntegrationRetired,
    "integration_retired",
    IntegrationRetiredText,
    IntegrationRetiredHtml,
    "email/integration_retired.txt",
    "email/integration_retired.html"
);

/// To an organization's admins: an integration they authorized was retired, so the authorization ended.
pub struct IntegrationRetiredForOrg {
    pub name: String,
    pub org_name: String,
    pub app_name: String,
    pub company_name: String,
    pub deadline: String,
    pub link: String,
}

impl IntegrationRetiredForOrg {
    fn subject_line(&self) -> String {
        format!(
            "{} was retired: its access to {} ended",
            self.app_name, self.org_name
        )
    }
}

email_templates!(
    IntegrationRetiredForOrg,
    "integration_retired_org",
    IntegrationRetiredForOrgText,
    IntegrationRetiredForOrgHtml,
    "email/integration_retired_for_org.txt",
    "email/integration_retired_for_org.html"
);

/// To a developer account's owners: ConCat suspended the account (with the admin's reason).
pub struct AccountSuspended {
    pub name: String,
    pub company_name: String,
    pub reason: String,
    pub link: String,
}

impl AccountSuspended {
    fn subject_line(&self) -> String {
        format!(
            "Your ConCat developer account {} is suspended",
            self.company_name
        )
    }
}

email_templates!(
    AccountSuspended,
    "account_suspended",
    AccountSuspendedText,
    AccountSuspendedHtml,
    "email/account_suspended.txt",
    "email/account_suspended.html"
);

/// To a developer account's owners: the suspension is lifted.
pub struct AccountReinstated {
    pub name: String,
    pub company_name: String,
    pub reason: String,
    pub link: String,
}

impl AccountReinstated {
    fn subject_line(&self) -> String {
        format!(
            "Your ConCat developer account {} is active again",
            self.company_name
        )
    }
}

email_templates!(
    AccountReinstated,
    "account_reinstated",
    AccountReinstatedText,
    AccountReinstatedHtml,
    "email/account_reinstated.txt",
    "email/account_reinstated.html"
);
