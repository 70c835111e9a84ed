//! The `api_keys` table, in the rooms readers look for: this file holds the row types, the
//! create transaction and the owner-filtered reads; `lifecycle` the changes (rename, re-date,
//! revoke, delete) and their outcomes; `exposure` the revocation of keys found exposed or
//! reported by whoever holds them; `verify` the hot path that authenticates a presented
//! key; `eligibility` the facts the create rule is decided from; `page` the keys page's read
//! model. Every query is filtered by the owning account, except the lookups by hash.

mod bounds;
pub mod edit;
mod eligibility;
mod exposure;
mod lifecycle;
mod page;
mod roll;
mod search;
mod verify;

pub use bounds::{
    BindingOutcome, PauseOutcome, RateOutcome, set_binding_for_account, set_paused_for_account,
    set_rate_for_account,
};
pub use edit::{NoteOutcome, ScopesOutcome, set_note_for_account, set_scopes_for_account};
pub use eligibility::{count_active_for_account, eligibility_for_account};
pub use exposure::{ExposureReport, Revoked, Sighting, revoke_exposed};
pub use lifecycle::{
    DeleteOutcome, ExpirationOutcome, RenameOutcome, RevokeOutcome, delete_for_account,
    rename_for_account, revoke_for_account, set_expiration_for_account,
};
pub use page::{KeysPageData, keys_page_data};
pub use roll::{Grace, RollOutcome, find_by_request_id, roll_for_account, rolled_onto};
pub use search::{account_by_hash, accounts_by_key_prefix, accounts_by_key_tail};
pub use verify::{KeyAuth, find_by_hash, record_last_used};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::audit::{self, NewEvent, Origin};
use super::schema::api_keys;
use crate::domain::eligibility::Eligibility;
use crate::domain::key::HASH_VERSION;
use crate::domain::network::{Binding, NetworkMode, Networks};
use crate::domain::{
    AuditAction, Expiration, KeyDates, KeyHasher, KeyName, KeyNote, PlainKey, RevokeReason, Scope,
};

/// A key's metadata: everything but its hash.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct KeyRow {
    /// Public id.
    pub id: Uuid,
    /// The account that owns it.
    pub account_id: Uuid,
    /// The name its owner gave it.
    pub name: String,
    /// `phy_` + 8.
    pub prefix: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Expiry, None = never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Approximate last use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked when.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Revoked by whom.
    pub revoked_by: Option<Uuid>,
    /// Client address of the last use, if known.
    pub last_client_ip: Option<String>,
    /// User agent of the last use, if known.
    pub last_user_agent: Option<String>,
    /// What the key is for (may be empty).
    pub note: String,
    /// Last 6 characters of the secret (None for keys made before tails were stored).
    pub tail: Option<String>,
    /// The preset the expiry was set from (days); None = custom or never.
    pub expiry_days: Option<i16>,
    /// Rolled onto a successor when (then `expires_at` is the end of the grace period).
    pub rolled_at: Option<DateTime<Utc>>,
    /// The successor it was rolled onto.
    pub rolled_to: Option<Uuid>,
    /// Why it was revoked when its owner didn't revoke it (found exposed, reported).
    pub revoked_reason: Option<RevokeReason>,
    /// Where it was found exposed, as reported (text, never a link).
    pub exposed_url: Option<String>,
    /// What kind of place it was found in, as reported.
    pub exposed_source: Option<String>,
    /// Paused by its owner since.
    pub paused_at: Option<DateTime<Utc>>,
    /// How its allow list applies.
    pub network_mode: NetworkMode,
    /// Its allow list.
    pub networks: Vec<ipnet::IpNet>,
    /// Accepted verifications per window; None = no limit.
    pub rate_limit: Option<i32>,
}

impl KeyRow {
    /// The dates its status is decided from.
    pub fn dates(&self) -> KeyDates {
        KeyDates {
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            rolled_at: self.rolled_at,
        }
    }

    /// Its network binding.
    pub fn binding(&self) -> Binding {
        Binding {
            mode: self.network_mode,
            networks: Networks::from_stored(self.networks.clone()),
        }
    }

    /// Both ends of the key, `phy_7QkR2mXa…Jx9QzA`.
    pub fn display(&self) -> String {
        crate::domain::key::display(&self.prefix, self.tail.as_deref())
    }
}

/// What a new key is: everything but its secret.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// Validated name.
    pub name: String,
    /// Validated note (may be empty).
    pub note: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Expiry; None = never.
    pub expires_at: Option<DateTime<Utc>>,
    /// The preset the expiry came from, if any.
    pub expiry_days: Option<i16>,
    /// Accepted verifications per window; None = no limit.
    pub rate_limit: Option<i32>,
}

impl KeySpec {
    /// A spec from parsed form values.
    pub fn new(
        name: &KeyName,
        note: &KeyNote,
        scopes: Vec<Scope>,
        expiration: Expiration,
        expiry_days: Option<i16>,
    ) -> Self {
        let expires_at = expiration.as_option();
        Self {
            name: name.as_str().to_owned(),
            note: note.as_str().to_owned(),
            scopes,
            expires_at,
            expiry_days: expiry_days.filter(|_| expires_at.is_some()),
            rate_limit: None,
        }
    }
}

/// A key to insert: made only by `NewKey::generate`, which returns the secret beside it (the
/// secret itself is never part of a row).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewKey {
    /// The account that owns it.
    pub account_id: Uuid,
    /// Validated name.
    pub name: String,
    /// Display prefix (`phy_` + 8).
    pub prefix: String,
    /// The secret's last 6 characters.
    pub tail: Option<String>,
    /// What the key is for.
    pub note: String,
    /// The preset the expiry came from.
    pub expiry_days: Option<i16>,
    /// HMAC-SHA-256 of the secret under the pepper.
    pub hash: Vec<u8>,
    /// Which hash scheme `hash` is.
    pub hash_version: i16,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// One-time form id (replay protection).
    pub request_id: Option<Uuid>,
    /// Expiry; None = never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Accepted verifications per window; None = no limit.
    pub rate_limit: Option<i32>,
}

impl NewKey {
    /// A fresh secret and the row that stores its hash: the one place keys are made (the
    /// create handler and the operator CLI both call it).
    pub fn generate(
        hasher: &KeyHasher,
        account_id: Uuid,
        spec: KeySpec,
        request_id: Uuid,
    ) -> (PlainKey, NewKey) {
        let secret = PlainKey::generate();
        let row = NewKey {
            account_id,
            name: spec.name,
            prefix: secret.display_prefix().to_owned(),
            tail: Some(secret.display_tail().to_owned()),
            note: spec.note,
            expiry_days: spec.expiry_days,
            hash: hasher.hash(&secret).0.to_vec(),
            hash_version: HASH_VERSION,
            scopes: spec.scopes,
            request_id: Some(request_id),
            expires_at: spec.expires_at,
            rate_limit: spec.rate_limit,
        };
        (secret, row)
    }
}

/// What a create attempt did.
#[derive(Debug)]
pub enum CreateOutcome {
    /// A new key.
    Created(KeyRow),
    /// This request id already created this key: nothing new was made.
    AlreadyCreated(KeyRow),
    /// Another non-revoked key has this name.
    NameTaken,
    /// The account may not create keys now (every reason).
    NotEligible(Eligibility),
}

/// `revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`
#[diesel::dsl::auto_type]
pub(crate) fn is_active() -> _ {
    api_keys::revoked_at.is_null().and(
        api_keys::expires_at
            .is_null()
            .or(api_keys::expires_at.gt(diesel::dsl::now)),
    )
}

/// Records an event about `key` on its account: the key's name and prefix, plus `extra`.
pub(crate) async fn record_key_event(
    conn: &mut AsyncPgConnection,
    actor: Uuid,
    action: AuditAction,
    key: &KeyRow,
    extra: serde_json::Value,
    origin: &Origin,
) -> QueryResult<()> {
    let mut detail =
        serde_json::json!({ "name": key.name, "prefix": key.prefix, "tail": key.tail });
    if let (Some(d), serde_json::Value::Object(e)) = (detail.as_object_mut(), extra) {
        d.extend(e);
    }
    audit::record(
        conn,
        NewEvent {
            account_id: Some(key.account_id),
            actor_id: Some(actor),
            action,
            key_id: Some(key.id),
            detail,
        },
        origin,
    )
    .await
}

/// Creates a key under the account-row lock: eligibility (including the 10-key limit), the
/// request-id replay check and name uniqueness are decided inside the same transaction as the
/// insert and its audit event, so concurrent creates cannot overshoot the limit (run again
/// when it loses a race, `db::retry`).
pub async fn create_for_account(
    conn: &mut AsyncPgConnection,
    key: NewKey,
    origin: &Origin,
) -> QueryResult<CreateOutcome> {
    let account = key.account_id;
    let key = &key;
    super::retry::transaction!(conn, async move |conn| {
        let Some(user) = super::users::lock_for_no_key_update(conn, account).await? else {
            return Err(diesel::result::Error::NotFound);
        };
        if let Some(rid) = key.request_id
            && let Some(existing) = find_by_request_id(conn, account, rid).await?
        {
            return Ok(CreateOutcome::AlreadyCreated(existing));
        }
        let eligibility = eligibility_for_account(conn, account, user.api_keys_enabled).await?;
        if !eligibility.can_create() {
            return Ok(CreateOutcome::NotEligible(eligibility));
        }
        if name_taken(conn, account, &key.name, None).await? {
            return Ok(CreateOutcome::NameTaken);
        }
        let row: KeyRow = diesel::insert_into(api_keys::table)
            .values(key)
            .returning(KeyRow::as_returning())
            .get_result(conn)
            .await?;
        record_key_event(
            conn,
            account,
            AuditAction::KeyCreated,
            &row,
            serde_json::json!({ "scopes": Scope::joined(&row.scopes, " "), "expires_at": row.expires_at }),
            origin,
        )
        .await?;
        Ok(CreateOutcome::Created(row))
    })
}

/// Whether another live key of the account has this name (case-insensitively): revoked and
/// rolling keys don't hold their names.
pub async fn name_taken(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> QueryResult<bool> {
    let mut q = api_keys::table
        .filter(api_keys::account_id.eq(account))
        .filter(api_keys::revoked_at.is_null())
        .filter(api_keys::rolled_at.is_null())
        .filter(super::lower(api_keys::name).eq(name.to_lowercase()))
        .select(api_keys::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(api_keys::id.ne(id));
    }
    Ok(q.first::<Uuid>(conn).await.optional()?.is_some())
}

/// An account's keys: active first, then newest first. Without `include_inactive`, only keys
/// that are neither revoked nor expired. (Two fixed queries rather than a boxed one, so
/// diesel can keep both prepared.) Generic over the connection so the keys page can send it
/// pipelined with its other queries (`page`).
pub async fn list_for_account<C>(
    conn: &mut C,
    account: Uuid,
    include_inactive: bool,
) -> QueryResult<Vec<KeyRow>>
where
    C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg>,
{
    let order = (
        is_active().desc(),
        api_keys::created_at.desc(),
        api_keys::id.desc(),
    );
    if include_inactive {
        api_keys::table
            .filter(api_keys::account_id.eq(account))
            .select(KeyRow::as_select())
            .order(order)
            .load(conn)
            .await
    } else {
        api_keys::table
            .filter(api_keys::account_id.eq(account))
            .filter(is_active())
            .select(KeyRow::as_select())
            .order(order)
            .load(conn)
            .await
    }
}

/// One key of the account, or None — for another account's key as for a missing one.
pub async fn find_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
) -> QueryResult<Option<KeyRow>> {
    api_keys::table
        .filter(api_keys::account_id.eq(account))
        .filter(api_keys::id.eq(id))
        .select(KeyRow::as_select())
        .first(conn)
        .await
        .optional()
}
