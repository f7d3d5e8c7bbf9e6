//! The ConCat developer portal. `startup::Application` is what `main` and the tests start.

pub mod access;
pub mod api;
pub mod audit;
pub mod auth;
pub mod background;
pub mod cli;
pub mod clock;
pub mod context;
pub mod db;
pub mod domain;
pub mod email;
pub mod errors;
pub mod events;
pub mod files;
pub mod gateway;
pub mod invitations;
pub mod jobs;
pub mod lifecycle;
pub mod orgs;
pub mod rate_limits;
pub mod settings;
pub mod startup;
pub mod state;
pub mod suspension;
pub mod telemetry;
pub mod web;
