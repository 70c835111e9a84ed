//! The `wallets` table.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::wallets;

/// A wallet row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = wallets)]
pub struct Wallet {
    /// Row id.
    pub id: Uuid,
    /// Owner.
    pub account_id: Uuid,
    /// base58 address.
    pub address: String,
    /// `external`, `embedded` or `custodial`.
    pub kind: String,
    /// When it was linked.
    pub linked_at: DateTime<Utc>,
}

/// An account's wallets, oldest first.
pub async fn list_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
) -> QueryResult<Vec<Wallet>> {
    wallets::table
        .filter(wallets::account_id.eq(account))
        .order((wallets::linked_at.asc(), wallets::id.asc()))
        .select(Wallet::as_select())
        .load(conn)
        .await
}

/// Adds a wallet to an account. Fails with a unique violation when the address is linked anywhere.
pub async fn insert_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    address: &str,
    kind: &str,
) -> QueryResult<Wallet> {
    diesel::insert_into(wallets::table)
        .values((
            wallets::account_id.eq(account),
            wallets::address.eq(address),
            wallets::kind.eq(kind),
        ))
        .returning(Wallet::as_returning())
        .get_result(conn)
        .await
}
