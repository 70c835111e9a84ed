//! `/support`: the read-only staff console. Search accounts by e-mail prefix, account id or key
//! prefix (a pasted full key is looked up by its hash, by POST only, and never shown); an account
//! page with the eligibility reasons exactly as the user reads them, wallets, keys and the audit
//! trail, and exports of its usage and trail. Every view and export of an account is itself
//! recorded in that account's trail.

mod account;
mod export;
mod search;

pub use account::account;
pub use export::export;
pub use search::{search, search_form};

use crate::auth::CurrentUser;
use crate::templates::Layout;

fn layout(current: &CurrentUser, title: &str) -> Layout {
    current.layout(title, "support")
}
