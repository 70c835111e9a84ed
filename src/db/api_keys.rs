//! The `api_keys` table. Every query is filtered by the owning account, except the lookup by
//! hash that authenticates a presented key.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::audit::{self, NewEvent, Origin};
use super::schema::{api_keys, users, wallets};
use crate::domain::eligibility::{Eligibility, Facts};
use crate::domain::key::HASH_VERSION;
use crate::domain::{KeyHash, WalletKind};

/// A key's metadata: everything but its hash.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct KeyRow {
    /// Public id.
    pub id: Uuid,
    /// Owner.
    pub account_id: Uuid,
    /// Label.
    pub name: String,
    /// `phy_` + 8.
    pub prefix: String,
    /// Scope names.
    pub scopes: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Expiry, None = never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Approximate last use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked when.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Revoked by whom.
    pub revoked_by: Option<Uuid>,
}

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    /// Validated name.
    pub name: &'a str,
    /// Display prefix.
    pub prefix: &'a str,
    /// Peppered hash.
    pub hash: &'a KeyHash,
    /// Scope names.
    pub scopes: Vec<String>,
    /// One-time form id.
    pub request_id: Uuid,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
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
fn is_active() -> _ {
    api_keys::revoked_at.is_null().and(
        api_keys::expires_at
            .is_null()
            .or(api_keys::expires_at.gt(diesel::dsl::now)),
    )
}

/// Active keys of an account.
pub async fn count_active_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
) -> QueryResult<i64> {
    api_keys::table
        .filter(api_keys::account_id.eq(account))
        .filter(is_active())
        .count()
        .get_result(conn)
        .await
}

/// The facts eligibility is decided from, read on `conn` (inside a transaction when it matters).
pub async fn eligibility_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    api_keys_enabled: bool,
) -> QueryResult<Eligibility> {
    let active_keys = count_active_for_account(conn, account).await?;
    let rows: Vec<(String, String)> = wallets::table
        .filter(wallets::account_id.eq(account))
        .order((wallets::linked_at.asc(), wallets::id.asc()))
        .select((wallets::kind, wallets::address))
        .load(conn)
        .await?;
    let wallets = wallet_facts(rows);
    Ok(Eligibility::evaluate(&Facts {
        api_keys_enabled,
        wallets: &wallets,
        active_keys,
    }))
}

/// Records an event about `key` on its account: the key's name and prefix, plus `extra`.
async fn record_key_event(
    conn: &mut AsyncPgConnection,
    actor: Uuid,
    action: &str,
    key: &KeyRow,
    extra: serde_json::Value,
    origin: &Origin,
) -> QueryResult<()> {
    let mut detail = serde_json::json!({ "name": key.name, "prefix": key.prefix });
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

/// Wallet rows (`kind`, `address`) as eligibility facts; an unknown kind never qualifies.
pub fn wallet_facts(rows: Vec<(String, String)>) -> Vec<(WalletKind, String)> {
    rows.into_iter()
        .filter_map(|(k, a)| WalletKind::parse(&k).map(|k| (k, a)))
        .collect()
}

/// Creates a key under the account-row lock: eligibility (including the 10-key limit), the
/// request-id replay check and name uniqueness are decided inside the same transaction as the
/// insert and its audit event, so concurrent creates cannot overshoot the limit.
pub async fn create_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    key: NewKey<'_>,
    origin: &Origin,
) -> QueryResult<CreateOutcome> {
    conn.transaction(async move |conn| {
        let Some(user) = super::users::lock_for_update(conn, account).await? else {
            return Err(diesel::result::Error::NotFound);
        };
        if let Some(existing) = api_keys::table
            .filter(api_keys::account_id.eq(account))
            .filter(api_keys::request_id.eq(key.request_id))
            .select(KeyRow::as_select())
            .first(conn)
            .await
            .optional()?
        {
            return Ok(CreateOutcome::AlreadyCreated(existing));
        }
        let eligibility = eligibility_for_account(conn, account, user.api_keys_enabled).await?;
        if !eligibility.can_create() {
            return Ok(CreateOutcome::NotEligible(eligibility));
        }
        if name_taken(conn, account, key.name, None).await? {
            return Ok(CreateOutcome::NameTaken);
        }
        let row: KeyRow = diesel::insert_into(api_keys::table)
            .values((
                api_keys::account_id.eq(account),
                api_keys::name.eq(key.name),
                api_keys::prefix.eq(key.prefix),
                api_keys::hash.eq(key.hash.0.as_slice()),
                api_keys::hash_version.eq(HASH_VERSION),
                api_keys::scopes.eq(&key.scopes),
                api_keys::request_id.eq(key.request_id),
                api_keys::expires_at.eq(key.expires_at),
            ))
            .returning(KeyRow::as_returning())
            .get_result(conn)
            .await?;
        record_key_event(
            conn,
            account,
            "key.created",
            &row,
            serde_json::json!({ "scopes": row.scopes, "expires_at": row.expires_at }),
            origin,
        )
        .await?;
        Ok(CreateOutcome::Created(row))
    })
    .await
}

/// Whether another non-revoked key of the account has this name (case-insensitively).
pub async fn name_taken(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> QueryResult<bool> {
    let mut q = api_keys::table
        .filter(api_keys::account_id.eq(account))
        .filter(api_keys::revoked_at.is_null())
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
/// diesel can keep both prepared.)
pub async fn list_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    include_inactive: bool,
) -> QueryResult<Vec<KeyRow>> {
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

/// What the key authority needs to decide about a presented key, in one indexed query.
#[derive(Debug, Clone, Queryable)]
pub struct KeyAuth {
    /// Key id.
    pub id: Uuid,
    /// Owner.
    pub account_id: Uuid,
    /// Label.
    pub name: String,
    /// Prefix.
    pub prefix: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Past its expiry by the database's clock (`None` for a key that never expires): the
    /// one clock every instance shares decides, not the instance's own.
    pub expired: Option<bool>,
    /// Revocation.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Account flag.
    pub api_keys_enabled: bool,
    /// Account has a self-custodied wallet.
    pub has_external_wallet: bool,
}

/// Looks a key up by its hash (the only query not filtered by owner: the hash is the credential).
pub async fn find_by_hash(
    conn: &mut AsyncPgConnection,
    hash: &KeyHash,
) -> QueryResult<Option<KeyAuth>> {
    let has_external = diesel::dsl::exists(
        wallets::table
            .filter(wallets::account_id.eq(api_keys::account_id))
            .filter(wallets::kind.eq(WalletKind::External.as_str())),
    );
    api_keys::table
        .inner_join(users::table.on(users::id.eq(api_keys::account_id)))
        .filter(api_keys::hash.eq(hash.0.as_slice()))
        .select((
            api_keys::id,
            api_keys::account_id,
            api_keys::name,
            api_keys::prefix,
            api_keys::scopes,
            api_keys::expires_at,
            api_keys::expires_at.le(diesel::dsl::now),
            api_keys::revoked_at,
            users::api_keys_enabled,
            has_external,
        ))
        .first(conn)
        .await
        .optional()
}

/// Writes buffered last-used times in one statement. Forward-only: an older time never
/// overwrites a newer one (several instances may flush out of order).
pub async fn record_last_used(
    conn: &mut AsyncPgConnection,
    used: &[(Uuid, DateTime<Utc>)],
) -> QueryResult<usize> {
    use diesel::sql_types::{Array, Timestamptz, Uuid as SqlUuid};
    if used.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = used.iter().map(|(id, _)| *id).collect();
    let times: Vec<DateTime<Utc>> = used.iter().map(|(_, t)| *t).collect();
    diesel::sql_query(
        "UPDATE api_keys k SET last_used_at = v.t
           FROM unnest($1, $2) AS v(id, t)
          WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.t)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Timestamptz>, _>(times)
    .execute(conn)
    .await
}

/// What a revoke did.
#[derive(Debug, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Revoked now (the key's name).
    Revoked(String),
    /// It was already revoked: nothing changed (the key's name).
    AlreadyRevoked(String),
    /// No such key on this account.
    NotFound,
}

/// Revokes one of the account's keys, with its audit event, in one transaction. Idempotent:
/// only a key that is not yet revoked changes (`… AND revoked_at IS NULL`).
pub async fn revoke_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    actor: Uuid,
    origin: &Origin,
) -> QueryResult<RevokeOutcome> {
    conn.transaction(async move |conn| {
        let revoked: Option<KeyRow> = diesel::update(
            api_keys::table
                .filter(api_keys::account_id.eq(account))
                .filter(api_keys::id.eq(id))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set((
            api_keys::revoked_at.eq(diesel::dsl::now),
            api_keys::revoked_by.eq(actor),
        ))
        .returning(KeyRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
        let Some(row) = revoked else {
            return Ok(match find_for_account(conn, account, id).await? {
                Some(k) => RevokeOutcome::AlreadyRevoked(k.name),
                None => RevokeOutcome::NotFound,
            });
        };
        record_key_event(
            conn,
            actor,
            "key.revoked",
            &row,
            serde_json::json!({}),
            origin,
        )
        .await?;
        Ok(RevokeOutcome::Revoked(row.name))
    })
    .await
}

/// What an edit (rename, re-date) did.
#[derive(Debug)]
pub enum EditOutcome {
    /// Changed.
    Updated(KeyRow),
    /// The key is revoked: revoked keys can't be changed.
    Revoked,
    /// No such key on this account.
    NotFound,
    /// Another live key has that name.
    NameTaken,
    /// Re-dating would make an expired key active beyond the 10-key limit.
    LimitReached,
}

fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Renames a key that is not revoked, with its audit event. The `revoked_at IS NULL` guard
/// means a rename racing a revoke can never bring the key back or rename a revoked key.
pub async fn rename_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    name: &str,
    origin: &Origin,
) -> QueryResult<EditOutcome> {
    let result = conn
        .transaction(async move |conn| {
            let Some(before) = find_for_account(conn, account, id).await? else {
                return Ok(EditOutcome::NotFound);
            };
            if before.revoked_at.is_some() {
                return Ok(EditOutcome::Revoked);
            }
            if name_taken(conn, account, name, Some(id)).await? {
                return Ok(EditOutcome::NameTaken);
            }
            let updated: Option<KeyRow> = diesel::update(
                api_keys::table
                    .filter(api_keys::account_id.eq(account))
                    .filter(api_keys::id.eq(id))
                    .filter(api_keys::revoked_at.is_null()),
            )
            .set(api_keys::name.eq(name))
            .returning(KeyRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
            let Some(row) = updated else {
                return Ok(EditOutcome::Revoked);
            };
            record_key_event(
                conn,
                account,
                "key.renamed",
                &row,
                serde_json::json!({ "old_name": before.name }),
                origin,
            )
            .await?;
            Ok(EditOutcome::Updated(row))
        })
        .await;
    match result {
        Err(e) if is_unique_violation(&e) => Ok(EditOutcome::NameTaken),
        other => other,
    }
}

/// Changes a key's expiry under the account-row lock: re-dating an expired key makes it
/// active again, so it passes the same 10-key check as creating one.
pub async fn set_expiration_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    expires_at: Option<DateTime<Utc>>,
    origin: &Origin,
) -> QueryResult<EditOutcome> {
    conn.transaction(async move |conn| {
        if super::users::lock_for_update(conn, account)
            .await?
            .is_none()
        {
            return Ok(EditOutcome::NotFound);
        }
        let Some(before) = find_for_account(conn, account, id).await? else {
            return Ok(EditOutcome::NotFound);
        };
        if before.revoked_at.is_some() {
            return Ok(EditOutcome::Revoked);
        }
        let now = Utc::now();
        let was_active = before.expires_at.is_none_or(|e| e > now);
        let becomes_active = expires_at.is_none_or(|e| e > now);
        if !was_active
            && becomes_active
            && count_active_for_account(conn, account).await? >= crate::domain::MAX_ACTIVE_KEYS
        {
            return Ok(EditOutcome::LimitReached);
        }
        let updated: Option<KeyRow> = diesel::update(
            api_keys::table
                .filter(api_keys::account_id.eq(account))
                .filter(api_keys::id.eq(id))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::expires_at.eq(expires_at))
        .returning(KeyRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
        let Some(row) = updated else {
            return Ok(EditOutcome::Revoked);
        };
        record_key_event(conn, account, "key.expiration_changed", &row, serde_json::json!({ "old_expires_at": before.expires_at, "expires_at": row.expires_at }), origin).await?;
        Ok(EditOutcome::Updated(row))
    })
    .await
}

/// What a delete did.
#[derive(Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Removed (its audit events stay).
    Deleted(String),
    /// Still active: revoke it first.
    StillActive,
    /// No such key on this account.
    NotFound,
}

/// Deletes a revoked or expired key, with its audit event.
pub async fn delete_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    origin: &Origin,
) -> QueryResult<DeleteOutcome> {
    conn.transaction(async move |conn| {
        let deleted: Option<KeyRow> = diesel::delete(
            api_keys::table
                .filter(api_keys::account_id.eq(account))
                .filter(api_keys::id.eq(id))
                .filter(
                    api_keys::revoked_at
                        .is_not_null()
                        .or(api_keys::expires_at.le(diesel::dsl::now)),
                ),
        )
        .returning(KeyRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
        let Some(row) = deleted else {
            return Ok(match find_for_account(conn, account, id).await? {
                Some(_) => DeleteOutcome::StillActive,
                None => DeleteOutcome::NotFound,
            });
        };
        record_key_event(
            conn,
            account,
            "key.deleted",
            &row,
            serde_json::json!({}),
            origin,
        )
        .await?;
        Ok(DeleteOutcome::Deleted(row.name))
    })
    .await
}

/// Owners of keys whose display prefix starts with `prefix` (support search). Only account ids
/// come back: the key rows are shown through the account's page.
pub async fn accounts_by_key_prefix(
    conn: &mut AsyncPgConnection,
    prefix: &str,
) -> QueryResult<Vec<Uuid>> {
    let escaped = prefix
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    api_keys::table
        .filter(api_keys::prefix.like(format!("{escaped}%")))
        .select(api_keys::account_id)
        .distinct()
        .limit(50)
        .load(conn)
        .await
}

/// The owner of the key with this hash (a full key pasted into support search).
pub async fn account_by_hash(
    conn: &mut AsyncPgConnection,
    hash: &KeyHash,
) -> QueryResult<Option<Uuid>> {
    api_keys::table
        .filter(api_keys::hash.eq(hash.0.as_slice()))
        .select(api_keys::account_id)
        .first(conn)
        .await
        .optional()
}

/// Everything the keys page lists, fetched in one pipelined round trip: the keys (active first;
/// only active ones unless `include_inactive`), the wallets' kinds and addresses, and a page
/// of recent key and wallet events. The three queries are independent, so they are sent
/// together on the same connection (diesel-async pipelines concurrently polled queries).
pub async fn keys_page_data(
    conn: &AsyncPgConnection,
    account: Uuid,
    include_inactive: bool,
    events_limit: i64,
    events_offset: i64,
) -> QueryResult<(Vec<KeyRow>, Vec<(String, String)>, Vec<audit::Event>)> {
    use super::schema::audit_events;
    let (mut c1, mut c2, mut c3) = (conn, conn, conn);
    let order = (
        is_active().desc(),
        api_keys::created_at.desc(),
        api_keys::id.desc(),
    );
    let keys = async move {
        if include_inactive {
            api_keys::table
                .filter(api_keys::account_id.eq(account))
                .select(KeyRow::as_select())
                .order(order)
                .load(&mut c1)
                .await
        } else {
            api_keys::table
                .filter(api_keys::account_id.eq(account))
                .filter(is_active())
                .select(KeyRow::as_select())
                .order(order)
                .load(&mut c1)
                .await
        }
    };
    let wallets = wallets::table
        .filter(wallets::account_id.eq(account))
        .order((wallets::linked_at.asc(), wallets::id.asc()))
        .select((wallets::kind, wallets::address))
        .load::<(String, String)>(&mut c2);
    let events = audit_events::table
        .filter(audit_events::account_id.eq(account))
        .filter(
            audit_events::action
                .like("key.%")
                .or(audit_events::action.like("wallet.%")),
        )
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .limit(events_limit)
        .offset(events_offset)
        .select(audit::Event::as_select())
        .load(&mut c3);
    tokio::try_join!(keys, wallets, events)
}
