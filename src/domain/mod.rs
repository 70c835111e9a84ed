//! Pure types and rules: no actix, no diesel. One concept per file, each unit-tested.

pub mod eligibility;
pub mod expiration;
pub mod key;
pub mod key_name;
pub mod key_status;
pub mod limits;
pub mod role;
pub mod scope;
pub mod time;
pub mod wallet;

pub use eligibility::{Eligibility, MAX_ACTIVE_KEYS, Reason};
pub use expiration::{Expiration, ExpirationInput};
pub use key::{KEY_PREFIX, KeyHash, KeyHasher, PlainKey};
pub use key_name::KeyName;
pub use key_status::KeyStatus;
pub use role::Role;
pub use scope::Scope;
pub use wallet::WalletKind;
