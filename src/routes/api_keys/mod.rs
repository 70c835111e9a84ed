//! Settings → API keys: the page (`list`), creation (`create`), and the view models both render.

pub mod actions;
pub mod create;
pub mod list;
pub mod view;
