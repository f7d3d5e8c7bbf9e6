//! The one integration-test binary. Every test runs against a real server on a random port with
//! its own fresh database, once on SQLite and once on PostgreSQL (when
//! `PORTAL_TEST_POSTGRES_URL` is set; otherwise the run ends with a line counting the skipped
//! variants, and with `CI=true` the PostgreSQL, browser and aiosmtpd variants must run). What
//! the tests are written with is in `support/`, one file per concern.

#[macro_use]
mod support;

mod access;
mod access_confirmation;
mod admin;
mod api;
mod auth;
mod authorizations;
mod browser;
mod cluster;
mod confirmations;
mod csrf;
mod data_growth;
mod developer;
mod docs;
mod drafts;
mod email_addresses;
mod file_modes;
mod forms;
mod http;
mod invitations;
mod landing;
mod lifecycle;
mod mail_outage;
mod metrics;
mod mfa;
mod org_overview;
mod orgs;
mod outbox;
mod password_reset;
mod schema;
mod setup;
mod smtp;
mod suspension;
mod typed_rows;
