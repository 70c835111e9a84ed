//! A key's own bounds as its owner sets them: pause / resume and the network binding. Each
//! change locks the key row, refuses a revoked key, writes the change and its audit event in
//! one transaction (run again when it loses a race, `db::retry`), and (pause, resume) a
//! security notice through the outbox. The next
//! verification on any instance reads the new state: nothing is cached.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{KeyRow, record_key_event};
use crate::db::audit::Origin;
use crate::db::notices::{self, NewNotice};
use crate::db::schema::api_keys;
use crate::domain::AuditAction;
use crate::domain::network::Binding;
use crate::domain::notice::NoticeKind;

/// What a pause or resume did.
#[derive(Debug)]
pub enum PauseOutcome {
    /// Changed: the row as it is now.
    Changed(Box<KeyRow>),
    /// It was already in that state: nothing changed.
    Unchanged(Box<KeyRow>),
    /// Revoked keys stay revoked.
    Revoked,
    /// No such key on this account.
    NotFound,
}

/// The account's key, locked for a change (none when it is not the account's).
async fn lock_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
) -> QueryResult<Option<KeyRow>> {
    api_keys::table
        .filter(api_keys::account_id.eq(account))
        .filter(api_keys::id.eq(id))
        .select(KeyRow::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

/// Pauses (`pause = true`) or resumes one of the account's keys. Resuming loosens, so the
/// caller asks for the recent password first; pausing never needs it.
pub async fn set_paused_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    pause: bool,
    origin: &Origin,
) -> QueryResult<PauseOutcome> {
    crate::db::retry::transaction!(conn, async move |conn| {
        let Some(key) = lock_for_account(conn, account, id).await? else {
            return Ok(PauseOutcome::NotFound);
        };
        if key.revoked_at.is_some() {
            return Ok(PauseOutcome::Revoked);
        }
        if key.paused_at.is_some() == pause {
            return Ok(PauseOutcome::Unchanged(Box::new(key)));
        }
        // the database's clock, like every other time a key holds
        let paused_at = diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >(if pause { "now()" } else { "NULL" });
        let row: KeyRow = diesel::update(api_keys::table.find(id))
            .set(api_keys::paused_at.eq(paused_at))
            .returning(KeyRow::as_returning())
            .get_result(conn)
            .await?;
        let (action, kind) = if pause {
            (AuditAction::KeyPaused, NoticeKind::KeyPaused)
        } else {
            (AuditAction::KeyResumed, NoticeKind::KeyResumed)
        };
        record_key_event(conn, account, action, &row, serde_json::json!({}), origin).await?;
        notices::enqueue(
            conn,
            NewNotice {
                account_id: account,
                kind,
                key_id: Some(id),
                // each change is its own event
                idempotency_key: format!("{}:{id}:{}", kind.as_str(), Uuid::new_v4()),
                payload: serde_json::json!({
                    "key_id": id, "name": row.name, "prefix": row.prefix,
                }),
            },
        )
        .await?;
        Ok(PauseOutcome::Changed(Box::new(row)))
    })
}

/// What saving a binding did.
#[derive(Debug)]
pub enum BindingOutcome {
    /// Saved: the row as it is now.
    Saved(Box<KeyRow>),
    /// The same binding was there already.
    Unchanged(Box<KeyRow>),
    /// The change loosens the binding and the caller did not confirm the password for it
    /// (decided against the row as locked, so a concurrent change cannot slip a loosening
    /// through a check made on an older row).
    NeedsPassword(Box<KeyRow>),
    /// Revoked keys can't change.
    Revoked,
    /// No such key on this account.
    NotFound,
}

/// Sets one of the account's keys' network binding. `may_loosen`: the recent password was
/// confirmed; without it, a binding that `loosens` the stored one changes nothing.
pub async fn set_binding_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    binding: &Binding,
    may_loosen: bool,
    origin: &Origin,
) -> QueryResult<BindingOutcome> {
    crate::db::retry::transaction!(conn, async move |conn| {
        let binding = binding.clone();
        let Some(key) = lock_for_account(conn, account, id).await? else {
            return Ok(BindingOutcome::NotFound);
        };
        if key.revoked_at.is_some() {
            return Ok(BindingOutcome::Revoked);
        }
        let before = key.binding();
        if before == binding {
            return Ok(BindingOutcome::Unchanged(Box::new(key)));
        }
        if before.loosens(&binding) && !may_loosen {
            return Ok(BindingOutcome::NeedsPassword(Box::new(key)));
        }
        let row: KeyRow = diesel::update(api_keys::table.find(id))
            .set((
                api_keys::network_mode.eq(binding.mode),
                api_keys::networks.eq(binding.networks.ranges().to_vec()),
            ))
            .returning(KeyRow::as_returning())
            .get_result(conn)
            .await?;
        let ranges = |b: &Binding| -> Vec<String> {
            b.networks
                .ranges()
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        record_key_event(
            conn,
            account,
            AuditAction::KeyNetworkChanged,
            &row,
            serde_json::json!({
                "from": { "mode": before.mode.as_str(), "ranges": ranges(&before) },
                "to": { "mode": binding.mode.as_str(), "ranges": ranges(&binding) },
            }),
            origin,
        )
        .await?;
        Ok(BindingOutcome::Saved(Box::new(row)))
    })
}

/// What saving a rate limit did.
#[derive(Debug)]
pub enum RateOutcome {
    /// Saved: the row as it is now.
    Saved(Box<KeyRow>),
    /// The same limit was there already.
    Unchanged(Box<KeyRow>),
    /// The change raises or removes the limit and the caller did not confirm the password
    /// (decided against the locked row).
    NeedsPassword(Box<KeyRow>),
    /// Revoked keys can't change.
    Revoked,
    /// No such key on this account.
    NotFound,
}

/// Sets (or, with `None`, removes) one of the account's keys' rate limit. `may_loosen`: the
/// recent password was confirmed; without it a higher limit or none changes nothing. The new
/// limit applies from the next lease, within the current window.
pub async fn set_rate_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    limit: Option<i32>,
    may_loosen: bool,
    origin: &Origin,
) -> QueryResult<RateOutcome> {
    crate::db::retry::transaction!(conn, async move |conn| {
        let Some(key) = lock_for_account(conn, account, id).await? else {
            return Ok(RateOutcome::NotFound);
        };
        if key.revoked_at.is_some() {
            return Ok(RateOutcome::Revoked);
        }
        if key.rate_limit == limit {
            return Ok(RateOutcome::Unchanged(Box::new(key)));
        }
        if crate::domain::rate::loosens(key.rate_limit, limit) && !may_loosen {
            return Ok(RateOutcome::NeedsPassword(Box::new(key)));
        }
        let row: KeyRow = diesel::update(api_keys::table.find(id))
            .set(api_keys::rate_limit.eq(limit))
            .returning(KeyRow::as_returning())
            .get_result(conn)
            .await?;
        let detail = serde_json::json!({ "from": key.rate_limit, "to": limit });
        record_key_event(
            conn,
            account,
            AuditAction::KeyRateLimitChanged,
            &row,
            detail,
            origin,
        )
        .await?;
        Ok(RateOutcome::Saved(Box::new(row)))
    })
}
