//! Edits to what a key is for and what it may do: its note and its scopes, each in one
//! transaction with its audit event. Scope changes take effect on the next verification (the
//! hot path reads scopes from the row every time; nothing caches them).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{KeyRow, find_for_account, record_key_event};
use crate::db::audit::Origin;
use crate::db::schema::api_keys;
use crate::domain::{AuditAction, KeyNote, Scope};

/// What a note change did.
#[derive(Debug)]
pub enum NoteOutcome {
    /// Saved: the row as it is now.
    Saved(Box<KeyRow>),
    /// The key is revoked: revoked keys can't be changed.
    Revoked,
    /// No such key on this account.
    NotFound,
}

/// Sets the note of a key that is not revoked (rolling keys may still be annotated).
pub async fn set_note_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    note: &KeyNote,
    origin: &Origin,
) -> QueryResult<NoteOutcome> {
    crate::db::retry::transaction!(conn, async move |conn| {
        let updated: Option<KeyRow> = diesel::update(
            api_keys::table
                .filter(api_keys::account_id.eq(account))
                .filter(api_keys::id.eq(id))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::note.eq(note.as_str()))
        .returning(KeyRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
        let Some(row) = updated else {
            return Ok(match find_for_account(conn, account, id).await? {
                Some(_) => NoteOutcome::Revoked,
                None => NoteOutcome::NotFound,
            });
        };
        let extra = serde_json::json!({ "note": row.note });
        record_key_event(
            conn,
            account,
            AuditAction::KeyNoteChanged,
            &row,
            extra,
            origin,
        )
        .await?;
        Ok(NoteOutcome::Saved(Box::new(row)))
    })
}

/// What a scope change did.
#[derive(Debug)]
pub enum ScopesOutcome {
    /// Saved: the row as it is now.
    Saved(Box<KeyRow>),
    /// Nothing to change: the key already has exactly these scopes.
    Unchanged(Box<KeyRow>),
    /// The key is revoked: revoked keys can't be changed.
    Revoked,
    /// The key is rolling: change its successor instead.
    Rolling,
    /// No such key on this account.
    NotFound,
}

/// Whether `after` grants anything `before` did not (widening needs a fresh password).
pub fn widens(before: &[Scope], after: &[Scope]) -> bool {
    after.iter().any(|s| !before.contains(s))
}

/// Replaces the scopes of a key that is neither revoked nor rolling, with an audit event that
/// records both sets. The row is locked while it is compared, so the audited "before" is the
/// set that was replaced.
pub async fn set_scopes_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    scopes: &[Scope],
    origin: &Origin,
) -> QueryResult<ScopesOutcome> {
    crate::db::retry::transaction!(conn, async move |conn| {
        let before: Option<KeyRow> = api_keys::table
            .filter(api_keys::account_id.eq(account))
            .filter(api_keys::id.eq(id))
            .select(KeyRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some(before) = before else {
            return Ok(ScopesOutcome::NotFound);
        };
        if before.revoked_at.is_some() {
            return Ok(ScopesOutcome::Revoked);
        }
        if before.rolled_at.is_some() {
            return Ok(ScopesOutcome::Rolling);
        }
        let mut sorted = scopes.to_vec();
        sorted.sort();
        if sorted == before.scopes {
            return Ok(ScopesOutcome::Unchanged(Box::new(before)));
        }
        let row: KeyRow = diesel::update(
            api_keys::table
                .filter(api_keys::account_id.eq(account))
                .filter(api_keys::id.eq(id)),
        )
        .set(api_keys::scopes.eq(&sorted))
        .returning(KeyRow::as_returning())
        .get_result(conn)
        .await?;
        let extra = serde_json::json!({
            "old_scopes": Scope::joined(&before.scopes, " "),
            "scopes": Scope::joined(&row.scopes, " "),
        });
        record_key_event(
            conn,
            account,
            AuditAction::KeyScopesChanged,
            &row,
            extra,
            origin,
        )
        .await?;
        Ok(ScopesOutcome::Saved(Box::new(row)))
    })
}
