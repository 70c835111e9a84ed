//! Who is asking: password checks, and the middleware that requires a logged-in user.

pub mod middleware;
pub mod password;
pub mod reauth;
pub mod support;

pub use middleware::{CurrentUser, require_login};
