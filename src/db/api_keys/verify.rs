//! The verification hot path: one indexed query by hash (with the account's flag and whether
//! it has a self-custodied wallet), and the batched forward-only "last used" write.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{api_keys, users, wallets};
use crate::domain::key_check::KeyFacts;
use crate::domain::network::{Binding, NetworkMode, Networks};
use crate::domain::usage::LastUse;
use crate::domain::{KeyHash, Scope, WalletKind};

/// What the key authority needs to decide about a presented key, in one indexed query.
#[derive(Debug, Clone, Queryable)]
pub struct KeyAuth {
    /// Key id.
    pub id: Uuid,
    /// The account that owns it.
    pub account_id: Uuid,
    /// The name its owner gave it.
    pub name: String,
    /// Display prefix (`phy_` + 8), for identification only.
    pub prefix: String,
    /// The secret's last 6 characters (None for keys made before they were stored).
    pub tail: Option<String>,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// When it stops working; None = never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Past its expiry by the database's clock (`None` for a key that never expires): the
    /// one clock every instance shares decides, not the instance's own.
    pub expired: Option<bool>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Account flag.
    pub api_keys_enabled: bool,
    /// Account has a self-custodied wallet.
    pub has_external_wallet: bool,
    /// Paused by its owner.
    pub paused: bool,
    /// How its allow list applies.
    pub network_mode: NetworkMode,
    /// Its allow list.
    pub networks: Vec<ipnet::IpNet>,
    /// Accepted verifications per window; None = no limit.
    pub rate_limit: Option<i32>,
    /// The database's clock as the query read it (UTC): rate-limit windows count on it.
    pub db_now: chrono::NaiveDateTime,
}

impl KeyAuth {
    /// What the key check decides from (`domain::key_check::decide`).
    pub fn facts(&self) -> KeyFacts {
        KeyFacts {
            revoked: self.revoked_at.is_some(),
            expired: self.expired == Some(true),
            account_eligible: self.api_keys_enabled && self.has_external_wallet,
            paused: self.paused,
        }
    }

    /// Its network binding.
    pub fn binding(&self) -> Binding {
        Binding {
            mode: self.network_mode,
            networks: Networks::from_stored(self.networks.clone()),
        }
    }
}

/// Looks a key up by its hash (the only query not filtered by owner: the hash is the credential).
pub async fn find_by_hash(
    conn: &mut AsyncPgConnection,
    hash: &KeyHash,
) -> QueryResult<Option<KeyAuth>> {
    let has_external = diesel::dsl::exists(
        wallets::table
            .filter(wallets::account_id.eq(api_keys::account_id))
            .filter(wallets::kind.eq(WalletKind::External)),
    );
    api_keys::table
        .inner_join(users::table.on(users::id.eq(api_keys::account_id)))
        .filter(api_keys::hash.eq(hash.0.as_slice()))
        .select((
            api_keys::id,
            api_keys::account_id,
            api_keys::name,
            api_keys::prefix,
            api_keys::tail,
            api_keys::scopes,
            api_keys::expires_at,
            api_keys::expires_at.le(diesel::dsl::now),
            api_keys::revoked_at,
            users::api_keys_enabled,
            has_external,
            api_keys::paused_at.is_not_null(),
            api_keys::network_mode,
            api_keys::networks,
            api_keys::rate_limit,
            diesel::dsl::now,
        ))
        .first(conn)
        .await
        .optional()
}

/// Writes buffered last uses in one statement. Forward-only: an older use never overwrites a
/// newer one (several instances may flush out of order).
pub async fn record_last_used(
    conn: &mut AsyncPgConnection,
    used: &[(Uuid, LastUse)],
) -> QueryResult<usize> {
    use diesel::sql_types::{Array, Nullable, Text, Timestamptz, Uuid as SqlUuid};
    if used.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "UPDATE api_keys k
            SET last_used_at = v.t, last_client_ip = v.ip, last_user_agent = v.ua
           FROM unnest($1, $2, $3, $4) AS v(id, t, ip, ua)
          WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.t)",
    )
    .bind::<Array<SqlUuid>, _>(used.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(used.iter().map(|(_, u)| u.at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        used.iter()
            .map(|(_, u)| u.client_ip.clone())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(
        used.iter()
            .map(|(_, u)| u.user_agent.clone())
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await
}
