//! The expiry digest's queries: which keys reached a milestone (7 days, 1 day, expired) not
//! yet told about, and writing one account's digest with its reminders. The milestone is
//! judged on the database's clock.
//!
//! Exactly one digest per account and interval, however many detectors run: the notice's
//! idempotency key names the account and the interval, so a second writer's insert waits for
//! the first and then does nothing (and writes no reminders: its keys go in the next digest).

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{NewNotice, enqueue};
use crate::domain::notice::NoticeKind;

/// A key that reached a milestone nobody told its owner about yet.
#[derive(Debug, Clone, diesel::QueryableByName, serde::Serialize)]
pub struct DueKey {
    /// The owner.
    #[diesel(sql_type = SqlUuid)]
    pub account_id: Uuid,
    /// The key.
    #[diesel(sql_type = SqlUuid)]
    pub key_id: Uuid,
    /// Its name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Its display prefix.
    #[diesel(sql_type = Text)]
    pub prefix: String,
    /// When it expires (or expired).
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
    /// `7d`, `1d` or `expired`.
    #[diesel(sql_type = Text)]
    pub milestone: String,
}

#[derive(diesel::QueryableByName)]
struct Period {
    #[diesel(sql_type = BigInt)]
    period: i64,
}

/// The number of the current digest interval (`interval_secs` long), on the database's clock.
pub async fn current_period(
    conn: &mut AsyncPgConnection,
    interval_secs: i64,
) -> diesel::QueryResult<i64> {
    let p: Period = diesel::sql_query(
        "/* keydesk background */ SELECT (floor(extract(epoch FROM now()) / $1))::int8 AS period",
    )
    .bind::<BigInt, _>(interval_secs.max(1))
    .get_result(conn)
    .await?;
    Ok(p.period)
}

/// Keys at a milestone without a reminder, at most `per_account` of each account (its
/// soonest) and `limit` in all, every account's first key before any account's second; an
/// account that had its digest for interval number `period` already is left out (its keys wait
/// for the next interval). So one account with thousands of due keys cannot hold back another
/// account's digest. A rolling key is left out: its end is the grace period its owner chose,
/// and its successor carries on.
pub async fn due_keys(
    conn: &mut AsyncPgConnection,
    period: i64,
    per_account: i64,
    limit: i64,
) -> diesel::QueryResult<Vec<DueKey>> {
    diesel::sql_query(
        "/* keydesk background */ SELECT * FROM (
             SELECT due.*, row_number() OVER (PARTITION BY due.account_id
                                              ORDER BY due.expires_at, due.key_id) AS nth
               FROM (SELECT k.account_id, k.id AS key_id, k.name, k.prefix, k.expires_at,
                            CASE WHEN k.expires_at <= now() THEN 'expired'
                                 WHEN k.expires_at <= now() + interval '1 day' THEN '1d'
                                 ELSE '7d' END AS milestone
                       FROM api_keys k
                      WHERE k.revoked_at IS NULL AND k.rolled_at IS NULL AND k.expires_at IS NOT NULL
                        AND k.expires_at <= now() + interval '7 days'
                        AND k.expires_at > now() - interval '7 days') due
              WHERE NOT EXISTS (SELECT 1 FROM expiry_reminders r
                                 WHERE r.key_id = due.key_id AND r.expires_at = due.expires_at
                                   AND r.milestone = due.milestone)
                AND NOT EXISTS (SELECT 1 FROM notices n
                                 WHERE n.idempotency_key = 'expiry_digest:' || due.account_id
                                                           || ':' || $1::int8)) f
          WHERE f.nth <= $2
          ORDER BY f.nth, f.account_id
          LIMIT $3",
    )
    .bind::<BigInt, _>(period)
    .bind::<BigInt, _>(per_account)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Writes one account's digest for interval number `period` with a reminder per key; `None`
/// when the account had its digest for that interval already.
pub async fn write_digest(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    period: i64,
    keys: &[DueKey],
) -> diesel::QueryResult<Option<Uuid>> {
    let keys = keys.to_vec();
    conn.transaction(async move |conn| {
        let notice = NewNotice {
            account_id: account,
            kind: NoticeKind::ExpiryDigest,
            key_id: keys
                .iter()
                .map(|k| k.key_id)
                .next()
                .filter(|_| keys.len() == 1),
            idempotency_key: format!("expiry_digest:{account}:{period}"),
            payload: serde_json::json!({
                "keys": keys.iter().map(|k| serde_json::json!({
                    "key_id": k.key_id, "name": k.name, "prefix": k.prefix,
                    "expires_at": k.expires_at, "milestone": k.milestone,
                })).collect::<Vec<_>>(),
            }),
        };
        let Some(id) = enqueue(conn, notice).await? else {
            return Ok(None);
        };
        diesel::sql_query(
            "INSERT INTO expiry_reminders (key_id, milestone, expires_at, notice_id)
             SELECT v.key_id, v.milestone, v.expires_at, $4
               FROM unnest($1, $2, $3) AS v(key_id, milestone, expires_at)
             ON CONFLICT DO NOTHING",
        )
        .bind::<diesel::sql_types::Array<SqlUuid>, _>(
            keys.iter().map(|k| k.key_id).collect::<Vec<_>>(),
        )
        .bind::<diesel::sql_types::Array<Text>, _>(
            keys.iter().map(|k| k.milestone.clone()).collect::<Vec<_>>(),
        )
        .bind::<diesel::sql_types::Array<Timestamptz>, _>(
            keys.iter().map(|k| k.expires_at).collect::<Vec<_>>(),
        )
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .await?;
        Ok(Some(id))
    })
    .await
}
