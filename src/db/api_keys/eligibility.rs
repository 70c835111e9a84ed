//! The facts the create rule is decided from: the account's active keys and wallets.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::is_active;
use crate::db::schema::{api_keys, wallets};
use crate::domain::WalletKind;
use crate::domain::eligibility::{Eligibility, Facts};

/// Active keys of an account, as the 10-key limit counts them: rolling keys don't count.
pub async fn count_active_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
) -> QueryResult<i64> {
    api_keys::table
        .filter(api_keys::account_id.eq(account))
        .filter(is_active())
        .filter(api_keys::rolled_at.is_null())
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
    let rows: Vec<(WalletKind, String)> = wallets::table
        .filter(wallets::account_id.eq(account))
        .order((wallets::linked_at.asc(), wallets::id.asc()))
        .select((wallets::kind, wallets::address))
        .load(conn)
        .await?;
    let wallets = rows;
    Ok(Eligibility::evaluate(&Facts {
        api_keys_enabled,
        wallets: &wallets,
        active_keys,
    }))
}
