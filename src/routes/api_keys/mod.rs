//! Settings → API keys: the page (`list`), creation (`create`), one file per row action
//! (`expiration`, `rename`, `revoke`, `delete`, sharing `action_page`), the key's own page
//! with its usage (`detail`, charts in `usage_chart`, a stopped key's `receipt`), the export
//! (`export`), and the view models.

mod action_page;
pub mod caps;
pub mod create;
pub mod delete;
pub mod detail;
pub mod expiration;
pub mod export;
pub mod exposure_view;
mod health;
mod key_view;
pub mod list;
pub mod network;
pub mod note;
pub mod pause;
pub mod rate;
mod receipt;
pub mod rename;
pub mod revoke;
pub mod roll;
pub mod scopes;
mod secret;
mod sudo;
mod usage_chart;
pub mod view;
