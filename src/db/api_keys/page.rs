//! The keys page's read model: the list, the wallets, a page of activity and each key's
//! requests in the last 24 hours, pipelined on one connection.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use std::collections::HashMap;

use super::{KeyRow, list_for_account};
use crate::db::audit;
use crate::db::schema::{audit_events, wallets};
use crate::domain::WalletKind;

/// What the keys page shows, read in one round trip.
#[derive(Debug)]
pub struct KeysPageData {
    /// The list (active first).
    pub keys: Vec<KeyRow>,
    /// The account's wallets (kind, address), for eligibility.
    pub wallets: Vec<(WalletKind, String)>,
    /// A page of key and wallet events.
    pub events: Vec<audit::Event>,
    /// Requests in the last 24 hours per key (keys without any are absent).
    pub requests_24h: HashMap<Uuid, i64>,
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
) -> QueryResult<KeysPageData> {
    let (mut c1, mut c2, mut c3, mut c4) = (conn, conn, conn, conn);
    let keys = list_for_account(&mut c1, account, include_inactive);
    let wallets = wallets::table
        .filter(wallets::account_id.eq(account))
        .order((wallets::linked_at.asc(), wallets::id.asc()))
        .select((wallets::kind, wallets::address))
        .load::<(WalletKind, String)>(&mut c2);
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
    let since = crate::domain::usage::hour_of(chrono::Utc::now()) - chrono::Duration::hours(23);
    let requests = crate::db::usage::since_for_account(&mut c4, account, since);
    let (keys, wallets, events, requests) = tokio::try_join!(keys, wallets, events, requests)?;
    Ok(KeysPageData {
        keys,
        wallets,
        events,
        requests_24h: crate::db::usage::per_key(requests),
    })
}
