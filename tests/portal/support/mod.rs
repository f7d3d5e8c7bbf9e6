//! What the tests are written with, one file per concern; everything is re-exported here, so a
//! test file needs only `use crate::support::*;`.
//!
//! - `harness`: `spawn_app()` starts the portal on a random port (`TestApp`), with the test
//!   clock and captured logs; `both_backends!`; the checks when a test ends.
//! - `test_db`: a fresh SQLite or PostgreSQL database for each test (`TestDb`).
//! - `skips`: whether this is CI (`ci()`, the one place that decides), and the variants that
//!   cannot run here (no PostgreSQL URL, no chromedriver or axe-core, no aiosmtpd), counted and
//!   reported in one line when the test binary exits.
//! - `mailbox`: the emails the portal queued and delivered to the in-memory mailbox.
//! - `rows`: reading (and seeding) the test's database directly.
//! - `client`: HTTP clients with a cookie jar, forms with the CSRF token, API requests.
//! - `pages`: what tests read out of pages and emails (links, tokens, secrets, ids).
//! - `stories`: the user's story in steps: sign in, request access, approve, create an
//!   organization, accept an invitation, authorize an integration.
//! - `race`: the same request sent several times at once, for the concurrency tests.
//! - `smtp_sink.py`: the aiosmtpd server the SMTP outage tests start.

#[macro_use]
mod harness;
mod client;
mod factors;
mod mailbox;
mod pages;
mod race;
mod rows;
mod skips;
mod stories;
mod test_db;

pub use client::*;
pub use factors::*;
pub use harness::*;
pub use pages::*;
pub use race::*;
pub use skips::*;
pub use stories::*;
pub use test_db::*;
