//! Settings → API keys: the page (`list`), creation (`create`), one file per row action
//! (`expiration`, `rename`, `revoke`, `delete`, sharing `action_page`), and the view models.

mod action_page;
pub mod create;
pub mod delete;
pub mod expiration;
pub mod list;
pub mod rename;
pub mod revoke;
pub mod view;
