//! Newtypes that parse user input once, at the edge ("parse, don't validate"). Each parse error is
//! a sentence fit to show next to the form field.

mod access;
mod credentials;
mod display_name;
mod email;
mod events;
mod password;
mod token;

pub use access::{
    AppName, CompanyName, EventCustomers, Message, Note, Phone, UseCase, Website, NOTE_MAX,
    USE_CASE_MAX,
};
pub use credentials::{ApiId, ApiSecret, API_ID_PREFIX, QUERY_KEY, SECRET_PREFIX};
pub use display_name::DisplayName;
pub use email::EmailAddress;
pub use events::{
    new_event_public_id, new_org_public_id, parse_venue, EventName, EventStatus, OrgName, TimeZone,
};
pub use password::{NewPassword, PasswordInput};
pub use token::{sha256_hex, OneTimeToken, TokenPurpose};
