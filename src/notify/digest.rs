//! The expiry digest detector: every key that now expires within 7 days, within 1 day, or has
//! expired (in the last 7 days) and was not told about at that milestone goes into its
//! account's digest — one digest per account per `APP_DIGEST_INTERVAL_SECS` interval, counted
//! on the database's clock, however many instances run this at once (see
//! `db::notices::digest`), naming at most `MAX_KEYS_PER_DIGEST` keys (the soonest; the rest
//! come in the next digests), every account served in every run. `keydesk notices digest` runs it at once.

use std::collections::BTreeMap;
use std::time::Duration;

use diesel_async::AsyncPgConnection;

use crate::db::notices::digest::{DueKey, current_period, due_keys, write_digest};

/// Keys looked at per run in all (each account's first keys come first, so this bound never
/// starves an account).
pub const MAX_KEYS: i64 = 5_000;

/// Keys one digest names at most; an account with more due keys gets the rest in its next
/// digests (the soonest first).
pub const MAX_KEYS_PER_DIGEST: i64 = 100;

/// Runs the detector once; returns the digests written.
pub async fn run_once(
    conn: &mut AsyncPgConnection,
    interval: Duration,
) -> diesel::QueryResult<usize> {
    let period = current_period(conn, interval.as_secs() as i64).await?;
    let mut by_account: BTreeMap<uuid::Uuid, Vec<DueKey>> = BTreeMap::new();
    for k in due_keys(conn, period, MAX_KEYS_PER_DIGEST, MAX_KEYS).await? {
        by_account.entry(k.account_id).or_default().push(k);
    }
    let mut written = 0;
    for (account, keys) in by_account {
        if write_digest(conn, account, period, &keys).await?.is_some() {
            written += 1;
        }
    }
    Ok(written)
}
