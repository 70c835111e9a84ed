//! Support search: the accounts that own a key, found by either end of it or by the whole
//! secret's hash. Only account ids come back; key rows are shown through the account's page.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::api_keys;
use crate::domain::KeyHash;

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

/// Owners of keys whose last 6 characters are `tail` (support search by the other end).
pub async fn accounts_by_key_tail(
    conn: &mut AsyncPgConnection,
    tail: &str,
) -> QueryResult<Vec<Uuid>> {
    api_keys::table
        .filter(api_keys::tail.eq(tail))
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
