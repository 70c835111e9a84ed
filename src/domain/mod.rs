//! Pure types and rules: no actix, no queries. One concept per file, each unit-tested. The
//! text enums (`Scope`, `Role`, `WalletKind`, `AuthFailure`, `AuditAction`) carry diesel's
//! mapping derives so rows can hold them; their `ToSql`/`FromSql` live in `db::enums`.

#[macro_use]
mod text_enum;

pub mod audit_action;
pub mod auth_failure;
pub mod challenge;
pub mod csv;
pub mod eligibility;
pub mod expiration;
pub mod export;
pub mod exposure;
pub mod github_keys;
pub mod ip_ranges;
pub mod key;
pub mod key_check;
pub mod key_health;
pub mod key_name;
pub mod key_status;
pub mod limits;
pub mod network;
pub mod notice;
pub mod notice_text;
pub mod rate;
pub mod receipt;
pub mod role;
pub mod scope;
pub mod spend;
pub mod time;
pub mod usage;
pub mod user_agent;
pub mod wallet;
pub mod webhook;

pub use audit_action::AuditAction;
pub use auth_failure::AuthFailure;
pub use eligibility::{Eligibility, MAX_ACTIVE_KEYS, Reason};
pub use expiration::{Expiration, ExpirationInput};
pub use exposure::RevokeReason;
pub use key::{KEY_PREFIX, KeyHash, KeyHasher, PlainKey};
pub use key_name::{KeyName, KeyNote};
pub use key_status::{KeyDates, KeyStatus};
pub use role::Role;
pub use scope::Scope;
pub use wallet::WalletKind;
