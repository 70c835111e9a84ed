//! The `key_usage_hourly` and `key_client_ips` tables: the recorder's batched additions (every
//! instance adds its counts, so they sum), the detail page's reads, and retention: hourly
//! counts, client addresses and the address and user agent of a key's last use are kept
//! `RETENTION_DAYS` (SPEC §9), then pruned.
//!
//! Rows are written in key order so two instances flushing at once take their row locks in
//! the same order (no deadlock), and joined with `api_keys` so a key deleted meanwhile is
//! skipped rather than failing the batch.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Int8, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{api_keys, key_client_ips, key_usage_hourly};
use crate::domain::usage::Outcome;

/// Client addresses kept per key.
pub const IPS_PER_KEY: i64 = 50;

/// Days of hourly counts, client addresses and last-use details kept.
pub const RETENTION_DAYS: i64 = 90;

/// Adds hourly counts `(key, hour, outcome, requests)`.
pub async fn add_hourly(
    conn: &mut AsyncPgConnection,
    rows: &[(Uuid, DateTime<Utc>, Outcome, i64)],
) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut rows = rows.to_vec();
    rows.sort_by_key(|r| (r.0, r.1, r.2));
    diesel::sql_query(
        "INSERT INTO key_usage_hourly (key_id, hour, outcome, requests)
         SELECT v.key_id, v.hour, v.outcome, v.n
           FROM unnest($1, $2, $3, $4) AS v(key_id, hour, outcome, n)
           JOIN api_keys k ON k.id = v.key_id
          ORDER BY v.key_id, v.hour, v.outcome
         ON CONFLICT (key_id, hour, outcome)
         DO UPDATE SET requests = key_usage_hourly.requests + excluded.requests",
    )
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.0).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.1).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.2.as_str()).collect::<Vec<_>>())
    .bind::<Array<Int8>, _>(rows.iter().map(|r| r.3).collect::<Vec<_>>())
    .execute(conn)
    .await
}

/// One key's sightings of one client address between two flushes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The key.
    pub key_id: Uuid,
    /// The client address.
    pub ip: String,
    /// First sighting.
    pub first: DateTime<Utc>,
    /// Last sighting.
    pub last: DateTime<Utc>,
    /// Requests.
    pub requests: i64,
    /// Of them, refused.
    pub refused: i64,
    /// Of them, accepted from outside the allow list in dry-run.
    pub outside: i64,
    /// The latest user agent.
    pub user_agent: Option<String>,
}

/// Adds client-address sightings, then keeps only the `IPS_PER_KEY` most recent per key. When a
/// sighting is of an address not seen for its key in the last 30 days (and not on the key's
/// first day), the sightings are added in one transaction with the "new address" notices
/// (`notices::new_client_ips`).
pub async fn add_client_ips(conn: &mut AsyncPgConnection, seen: &[Seen]) -> QueryResult<usize> {
    if seen.is_empty() {
        return Ok(0);
    }
    let mut seen = seen.to_vec();
    seen.sort_by(|a, b| (a.key_id, &a.ip).cmp(&(b.key_id, &b.ip)));
    let pairs: Vec<(Uuid, String)> = seen.iter().map(|s| (s.key_id, s.ip.clone())).collect();
    let fresh = super::notices::fresh_client_ips(conn, &pairs).await?;
    if fresh.is_empty() {
        return upsert_client_ips(conn, &seen).await;
    }
    conn.transaction(async move |conn| {
        super::notices::new_client_ips(conn, &fresh).await?;
        upsert_client_ips(conn, &seen).await
    })
    .await
}

async fn upsert_client_ips(conn: &mut AsyncPgConnection, seen: &[Seen]) -> QueryResult<usize> {
    let n = diesel::sql_query(
        "INSERT INTO key_client_ips (key_id, client_ip, first_seen, last_seen, requests, refused,
                                     outside, user_agent)
         SELECT v.key_id, v.ip, v.first, v.last, v.n, v.refused, v.outside, v.ua
           FROM unnest($1, $2, $3, $4, $5, $6, $7, $8)
                AS v(key_id, ip, first, last, n, refused, outside, ua)
           JOIN api_keys k ON k.id = v.key_id
          ORDER BY v.key_id, v.ip
         ON CONFLICT (key_id, client_ip) DO UPDATE SET
             first_seen = least(key_client_ips.first_seen, excluded.first_seen),
             last_seen = greatest(key_client_ips.last_seen, excluded.last_seen),
             requests = key_client_ips.requests + excluded.requests,
             refused = key_client_ips.refused + excluded.refused,
             outside = key_client_ips.outside + excluded.outside,
             user_agent = CASE WHEN excluded.last_seen >= key_client_ips.last_seen
                               THEN coalesce(excluded.user_agent, key_client_ips.user_agent)
                               ELSE key_client_ips.user_agent END",
    )
    .bind::<Array<SqlUuid>, _>(seen.iter().map(|s| s.key_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(seen.iter().map(|s| s.ip.as_str()).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(seen.iter().map(|s| s.first).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(seen.iter().map(|s| s.last).collect::<Vec<_>>())
    .bind::<Array<Int8>, _>(seen.iter().map(|s| s.requests).collect::<Vec<_>>())
    .bind::<Array<Int8>, _>(seen.iter().map(|s| s.refused).collect::<Vec<_>>())
    .bind::<Array<Int8>, _>(seen.iter().map(|s| s.outside).collect::<Vec<_>>())
    .bind::<Array<diesel::sql_types::Nullable<Text>>, _>(
        seen.iter()
            .map(|s| s.user_agent.as_deref())
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await?;
    let mut keys: Vec<Uuid> = seen.iter().map(|s| s.key_id).collect();
    keys.dedup();
    diesel::sql_query(
        "DELETE FROM key_client_ips c
          USING (SELECT key_id, client_ip,
                        row_number() OVER (PARTITION BY key_id ORDER BY last_seen DESC) AS rn
                   FROM key_client_ips WHERE key_id = ANY($1)) r
          WHERE c.key_id = r.key_id AND c.client_ip = r.client_ip AND r.rn > $2",
    )
    .bind::<Array<SqlUuid>, _>(keys)
    .bind::<Int8, _>(IPS_PER_KEY)
    .execute(conn)
    .await?;
    Ok(n)
}

/// A key's hourly counts since `since` `(hour, outcome, requests)`. (Usage windows are a
/// display: they are cut on the caller's clock, so the query stays one diesel keeps prepared.)
pub async fn hourly_for_key(
    conn: &mut AsyncPgConnection,
    key: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<Vec<(DateTime<Utc>, Outcome, i64)>> {
    key_usage_hourly::table
        .filter(key_usage_hourly::key_id.eq(key))
        .filter(key_usage_hourly::hour.ge(since))
        .select((
            key_usage_hourly::hour,
            key_usage_hourly::outcome,
            key_usage_hourly::requests,
        ))
        .load::<(DateTime<Utc>, Outcome, i64)>(conn)
        .await
}

/// A client address a key was used from.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = key_client_ips)]
pub struct ClientIp {
    /// The address.
    pub client_ip: String,
    /// First use from it.
    pub first_seen: DateTime<Utc>,
    /// Last use from it.
    pub last_seen: DateTime<Utc>,
    /// Requests from it.
    pub requests: i64,
    /// Of them, refused.
    pub refused: i64,
    /// Of them, accepted from outside the allow list in dry-run.
    pub outside: i64,
    /// The latest user agent from it.
    pub user_agent: Option<String>,
}

/// A key's client addresses, most recent first.
pub async fn client_ips_for_key(
    conn: &mut AsyncPgConnection,
    key: Uuid,
) -> QueryResult<Vec<ClientIp>> {
    key_client_ips::table
        .filter(key_client_ips::key_id.eq(key))
        .order(key_client_ips::last_seen.desc())
        .limit(IPS_PER_KEY)
        .select(ClientIp::as_select())
        .load(conn)
        .await
}

/// Requests each of an account's keys accepted from outside its allow list in dry-run
/// `(key, requests)` (keys with none are left out), for the support console.
pub async fn outside_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
) -> QueryResult<Vec<(Uuid, i64)>> {
    key_client_ips::table
        .inner_join(api_keys::table)
        .filter(api_keys::account_id.eq(account))
        .filter(key_client_ips::outside.gt(0))
        .group_by(key_client_ips::key_id)
        .select((
            key_client_ips::key_id,
            diesel::dsl::sql::<Int8>("sum(key_client_ips.outside)::int8"),
        ))
        .load(conn)
        .await
}

/// Hourly counts since `since` of every key of an account `(key, requests)`, for the list's
/// "Requests (24 h)" (summed by the caller; a fixed query diesel keeps prepared).
pub async fn since_for_account<C>(
    conn: &mut C,
    account: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<Vec<(Uuid, i64)>>
where
    C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg>,
{
    key_usage_hourly::table
        .inner_join(api_keys::table)
        .filter(api_keys::account_id.eq(account))
        .filter(key_usage_hourly::hour.ge(since))
        .select((key_usage_hourly::key_id, key_usage_hourly::requests))
        .load(conn)
        .await
}

/// Sums `(key, requests)` rows per key.
pub fn per_key(rows: Vec<(Uuid, i64)>) -> std::collections::HashMap<Uuid, i64> {
    let mut sums = std::collections::HashMap::new();
    for (k, n) in rows {
        *sums.entry(k).or_insert(0) += n;
    }
    sums
}

/// Deletes up to `batch` hourly rows older than the retention (for the pruning task).
pub async fn prune(conn: &mut AsyncPgConnection, batch: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM key_usage_hourly WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM key_usage_hourly
              WHERE hour < now() - make_interval(days => $1::int)
              LIMIT $2 FOR UPDATE SKIP LOCKED))",
    )
    .bind::<Int8, _>(RETENTION_DAYS)
    .bind::<Int8, _>(batch)
    .execute(conn)
    .await
}

/// Deletes up to `batch` client addresses last seen before the retention (for the pruning
/// task), so a key's page lists no address older than that.
pub async fn prune_client_ips(conn: &mut AsyncPgConnection, batch: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM key_client_ips WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM key_client_ips
              WHERE last_seen < now() - make_interval(days => $1::int)
              LIMIT $2 FOR UPDATE SKIP LOCKED))",
    )
    .bind::<Int8, _>(RETENTION_DAYS)
    .bind::<Int8, _>(batch)
    .execute(conn)
    .await
}

/// Forgets the client address and user agent of the last use on up to `batch` keys last used
/// before the retention (for the pruning task); when the last use was stays. `NO KEY UPDATE`,
/// so usage rows being added for those keys (which lock them `KEY SHARE`) are not held up.
pub async fn prune_last_use(conn: &mut AsyncPgConnection, batch: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE api_keys SET last_client_ip = NULL, last_user_agent = NULL
          WHERE id IN (
             SELECT id FROM api_keys
              WHERE last_used_at < now() - make_interval(days => $1::int)
                AND (last_client_ip IS NOT NULL OR last_user_agent IS NOT NULL)
              LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED)",
    )
    .bind::<Int8, _>(RETENTION_DAYS)
    .bind::<Int8, _>(batch)
    .execute(conn)
    .await
}
