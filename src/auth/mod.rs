//! Authentication and authorization for the HTML site: password hashing, sessions, CSRF, the
//! current-user extractors, the login throttle, and account operations shared with the CLI.

pub mod accounts;
pub mod api_credentials;
pub mod csrf;
pub mod extract;
pub mod password;
pub mod reset;
pub mod session;
pub mod throttle;

pub use csrf::CsrfForm;
pub use extract::{AdminUser, CurrentUser, Viewer};
