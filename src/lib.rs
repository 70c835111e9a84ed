//! keydesk: the Settings → API keys part of the Phygitals account website, and the authority
//! other services ask whether an API key is valid and for what.
//!
//! Follow a request: route (`startup`) → handler (`routes`) → rule (`domain`) → query (`db`) →
//! template (`templates/`).

pub mod admin;
pub mod api;
pub mod auth;
pub mod body;
pub mod client_ip;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod middleware;
pub mod notify;
pub mod routes;
pub mod session;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod templates;
