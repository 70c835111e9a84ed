//! Changes to one key, each in its own transaction with its audit event, each with its own
//! outcome: rename, re-date (under the account-row lock), revoke (idempotent), delete. Each
//! takes its locks in the one order and is run again when it loses a race (`db::retry`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{KeyRow, count_active_for_account, find_for_account, name_taken, record_key_event};
use crate::db::audit::Origin;
use crate::db::schema::api_keys;
use crate::domain::expiration::extends;
use crate::domain::key_status::is_expired;
use crate::domain::{AuditAction, MAX_ACTIVE_KEYS};

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
    crate::db::retry::transaction!(conn, async move |conn| {
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
            AuditAction::KeyRevoked,
            &row,
            serde_json::json!({}),
            origin,
        )
        .await?;
        Ok(RevokeOutcome::Revoked(row.name))
    })
}

/// What a rename did.
#[derive(Debug)]
pub enum RenameOutcome {
    /// Renamed: the row as it is now.
    Renamed(Box<KeyRow>),
    /// The key is revoked: revoked keys can't be changed.
    Revoked,
    /// The key is rolling: change its successor instead.
    Rolling,
    /// No such key on this account.
    NotFound,
    /// Another live key has that name.
    NameTaken,
}

/// What a change of expiry did.
#[derive(Debug)]
pub enum ExpirationOutcome {
    /// Re-dated.
    Updated(Box<KeyRow>),
    /// The key is revoked: revoked keys can't be changed.
    Revoked,
    /// The key is rolling: its end is the end of its grace period.
    Rolling,
    /// No such key on this account.
    NotFound,
    /// Re-dating would make an expired key active beyond the 10-key limit.
    LimitReached,
    /// The new date lets the key work longer, and no recent password allows that.
    NeedsPassword,
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
) -> QueryResult<RenameOutcome> {
    let result = crate::db::retry::transaction!(conn, async move |conn| {
        let Some(before) = find_for_account(conn, account, id).await? else {
            return Ok(RenameOutcome::NotFound);
        };
        if before.revoked_at.is_some() {
            return Ok(RenameOutcome::Revoked);
        }
        if before.rolled_at.is_some() {
            return Ok(RenameOutcome::Rolling);
        }
        if name_taken(conn, account, name, Some(id)).await? {
            return Ok(RenameOutcome::NameTaken);
        }
        let updated: Option<KeyRow> = diesel::update(
            api_keys::table
                .filter(api_keys::account_id.eq(account))
                .filter(api_keys::id.eq(id))
                .filter(api_keys::revoked_at.is_null())
                .filter(api_keys::rolled_at.is_null()),
        )
        .set(api_keys::name.eq(name))
        .returning(KeyRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
        let Some(row) = updated else {
            return Ok(RenameOutcome::Revoked);
        };
        record_key_event(
            conn,
            account,
            AuditAction::KeyRenamed,
            &row,
            serde_json::json!({ "old_name": before.name }),
            origin,
        )
        .await?;
        Ok(RenameOutcome::Renamed(Box::new(row)))
    });
    match result {
        Err(e) if is_unique_violation(&e) => Ok(RenameOutcome::NameTaken),
        other => other,
    }
}

/// Changes a key's expiry (and the preset it came from) under the account-row lock:
/// re-dating an expired key makes it active again, so it passes the same 10-key check as
/// creating one. A rolling key's end is its grace period's: it can't be re-dated. A date that
/// lets the key work longer (`extends`, judged on the locked row) needs `may_extend`: the
/// caller had a recent password.
pub async fn set_expiration_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    (expires_at, expiry_days): (Option<DateTime<Utc>>, Option<i16>),
    may_extend: bool,
    origin: &Origin,
) -> QueryResult<ExpirationOutcome> {
    crate::db::retry::transaction!(conn, async move |conn| {
        if crate::db::users::lock_for_no_key_update(conn, account)
            .await?
            .is_none()
        {
            return Ok(ExpirationOutcome::NotFound);
        }
        let Some(before) = find_for_account(conn, account, id).await? else {
            return Ok(ExpirationOutcome::NotFound);
        };
        if before.revoked_at.is_some() {
            return Ok(ExpirationOutcome::Revoked);
        }
        if before.rolled_at.is_some() {
            return Ok(ExpirationOutcome::Rolling);
        }
        if !may_extend && extends(before.expires_at, expires_at) {
            return Ok(ExpirationOutcome::NeedsPassword);
        }
        let now = crate::db::now(conn).await?; // the database's clock decides "active"
        let was_active = !is_expired(before.expires_at, now);
        let becomes_active = !is_expired(expires_at, now);
        if !was_active
            && becomes_active
            && count_active_for_account(conn, account).await? >= MAX_ACTIVE_KEYS
        {
            return Ok(ExpirationOutcome::LimitReached);
        }
        let updated: Option<KeyRow> = diesel::update(
            api_keys::table
                .filter(api_keys::account_id.eq(account))
                .filter(api_keys::id.eq(id))
                .filter(api_keys::revoked_at.is_null())
                .filter(api_keys::rolled_at.is_null()),
        )
        .set((
            api_keys::expires_at.eq(expires_at),
            api_keys::expiry_days.eq(expiry_days.filter(|_| expires_at.is_some())),
        ))
        .returning(KeyRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
        let Some(row) = updated else {
            return Ok(ExpirationOutcome::Revoked);
        };
        record_key_event(conn, account, AuditAction::KeyExpirationChanged, &row, serde_json::json!({ "old_expires_at": before.expires_at, "expires_at": row.expires_at }), origin).await?;
        Ok(ExpirationOutcome::Updated(Box::new(row)))
    })
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
    crate::db::retry::transaction!(conn, async move |conn| {
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
            AuditAction::KeyDeleted,
            &row,
            serde_json::json!({}),
            origin,
        )
        .await?;
        Ok(DeleteOutcome::Deleted(row.name))
    })
}
