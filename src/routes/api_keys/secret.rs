//! The one-time secret dialog's content: the only view that ever holds a full key.

use chrono_tz::Tz;
use uuid::Uuid;

use crate::db::api_keys::KeyRow;
use crate::domain::time::local_datetime;
use crate::domain::{PlainKey, Scope};

/// The one-time secret dialog.
pub struct SecretView {
    /// The new key's id (its row gets focus after Done).
    pub id: Uuid,
    /// The full key: shown in this response only.
    pub key: String,
    /// Key name.
    pub name: String,
    /// Scopes joined.
    pub scopes: String,
    /// "Expires 22 Dec 2026, 14:00 (Europe/Berlin)" or "Never expires".
    pub expires: String,
}

impl SecretView {
    /// Builds the dialog's content for a key just created.
    pub fn new(key: &PlainKey, row: &KeyRow, tz: Tz) -> Self {
        Self {
            id: row.id,
            key: key.expose().to_owned(),
            name: row.name.clone(),
            scopes: Scope::joined(&row.scopes, ", "),
            expires: match row.expires_at {
                None => "Never expires".into(),
                Some(t) => format!("Expires {} ({})", local_datetime(t, tz), tz.name()),
            },
        }
    }
}
