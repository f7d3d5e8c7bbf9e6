//! Who may sign in, and how that is checked: password hashing (one bounded gate), the sign-in
//! throttle, password resets, API credentials, and account operations shared with the CLI.
//! The HTTP side of signing in (sessions, CSRF, the current-user extractors) is `web::session`.

pub mod accounts;
pub mod api_credentials;
pub mod mfa;
pub mod passkeys;
pub mod password;
pub mod reset;
pub mod sign_in;
pub mod throttle;
