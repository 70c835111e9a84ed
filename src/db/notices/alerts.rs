//! Usage alert rules (`usage_alert_rules`), per key or for every key of the account, and the
//! detector's query: which rule a key broke in the current or the previous UTC hour (hours as
//! `key_usage_hourly` counts them). One alert per rule, key and hour (idempotency key).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Int4, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{NewNotice, enqueue};
use crate::db::schema::{api_keys, usage_alert_rules as r};
use crate::domain::notice::NoticeKind;

/// Requests in an hour above `threshold`.
pub const REQUESTS_PER_HOUR: &str = "requests_per_hour";
/// Refusals above `threshold` % of at least `min_requests` requests in an hour.
pub const REFUSAL_RATE: &str = "refusal_rate";
/// Rate-limit refusals above `threshold` in an hour.
pub const RATE_LIMITED: &str = "rate_limited";

/// Rules an account may have.
pub const MAX_RULES: i64 = 20;

/// A rule as the settings page lists it.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its id.
    pub id: Uuid,
    /// `requests_per_hour` or `refusal_rate`.
    pub kind: String,
    /// The key's name, `None` for every key.
    pub key_name: Option<String>,
    /// N or X.
    pub threshold: i32,
    /// M.
    pub min_requests: i32,
}

/// The account's rules, oldest first.
pub async fn list_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
) -> QueryResult<Vec<Rule>> {
    let rows: Vec<(Uuid, String, Option<String>, i32, i32)> = r::table
        .left_join(api_keys::table)
        .filter(r::account_id.eq(account))
        .order(r::created_at)
        .select((
            r::id,
            r::kind,
            api_keys::name.nullable(),
            r::threshold,
            r::min_requests,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, key_name, threshold, min_requests)| Rule {
            id,
            kind,
            key_name,
            threshold,
            min_requests,
        })
        .collect())
}

/// Adds a rule (the key, when given, must be the account's); false when the key is not the
/// account's or the account has `MAX_RULES` already. One transaction under the account-row
/// lock, so concurrent adds cannot pass the bound.
pub async fn add_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    key: Option<Uuid>,
    kind: &'static str,
    threshold: i32,
    min_requests: i32,
) -> QueryResult<bool> {
    use crate::db::schema::users;
    conn.transaction(async move |conn| {
        users::table
            .find(account)
            .select(users::id)
            .for_update()
            .first::<Uuid>(conn)
            .await?;
        if let Some(k) = key {
            let owned: i64 = api_keys::table
                .filter(api_keys::id.eq(k))
                .filter(api_keys::account_id.eq(account))
                .count()
                .get_result(conn)
                .await?;
            if owned == 0 {
                return Ok(false);
            }
        }
        let n: i64 = r::table
            .filter(r::account_id.eq(account))
            .count()
            .get_result(conn)
            .await?;
        if n >= MAX_RULES {
            return Ok(false);
        }
        diesel::insert_into(r::table)
            .values((
                r::id.eq(Uuid::new_v4()),
                r::account_id.eq(account),
                r::key_id.eq(key),
                r::kind.eq(kind),
                r::threshold.eq(threshold),
                r::min_requests.eq(min_requests),
            ))
            .execute(conn)
            .await?;
        Ok(true)
    })
    .await
}

/// Deletes one of the account's rules.
pub async fn delete_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
) -> QueryResult<bool> {
    let n = diesel::delete(
        r::table
            .filter(r::account_id.eq(account))
            .filter(r::id.eq(id)),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}

#[derive(Debug, diesel::QueryableByName)]
struct Broken {
    #[diesel(sql_type = SqlUuid)]
    rule_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    account_id: Uuid,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Int4)]
    threshold: i32,
    #[diesel(sql_type = SqlUuid)]
    key_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    prefix: String,
    #[diesel(sql_type = Timestamptz)]
    hour: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    refused: i64,
    #[diesel(sql_type = BigInt)]
    rate_limited: i64,
}

/// Alerts one account's rules may write in one detector run; the rest come in the next runs.
pub const ALERTS_PER_ACCOUNT_PER_RUN: i64 = 50;

/// Alerts written in one run in all (each account's first alerts come before any account's
/// later ones, so this bound never starves an account).
pub const ALERTS_PER_RUN: i64 = 2_000;

/// Finds the rules broken in the current or previous hour that have no alert yet and writes
/// one alert per rule, key and hour. Fair across accounts: at most
/// `ALERTS_PER_ACCOUNT_PER_RUN` per account per run, every account's first alert before any
/// account's second, so one account with hundreds of keys under "every key" rules cannot hold
/// back another account's alert. Returns the alerts written.
pub async fn detect(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    let broken: Vec<Broken> = diesel::sql_query(
        "/* keydesk background */ SELECT * FROM (
             SELECT b.*, row_number() OVER (PARTITION BY b.account_id ORDER BY b.hour, b.rule_id, b.key_id) AS nth
               FROM (SELECT r.id AS rule_id, r.account_id, r.kind, r.threshold, k.id AS key_id,
                            k.name, k.prefix, u.hour, sum(u.requests)::int8 AS total,
                            coalesce(sum(u.requests) FILTER (WHERE u.outcome <> 'ok'), 0)::int8 AS refused,
                            coalesce(sum(u.requests) FILTER (WHERE u.outcome = 'rate_limited'), 0)::int8
                                AS rate_limited
                       FROM usage_alert_rules r
                       JOIN api_keys k ON k.account_id = r.account_id
                            AND (r.key_id IS NULL OR r.key_id = k.id)
                       JOIN key_usage_hourly u ON u.key_id = k.id
                            AND u.hour >= date_trunc('hour', now()) - interval '1 hour'
                      GROUP BY r.id, k.id, u.hour
                     HAVING (r.kind = 'requests_per_hour' AND sum(u.requests) > r.threshold)
                         OR (r.kind = 'refusal_rate' AND sum(u.requests) >= r.min_requests
                             AND coalesce(sum(u.requests) FILTER (WHERE u.outcome <> 'ok'), 0) * 100
                                 > r.threshold::int8 * sum(u.requests))
                         OR (r.kind = 'rate_limited'
                             AND coalesce(sum(u.requests) FILTER (WHERE u.outcome = 'rate_limited'), 0)
                                 > r.threshold)) b
              WHERE NOT EXISTS (SELECT 1 FROM notices n
                                 WHERE n.idempotency_key = 'usage_alert:' || b.rule_id || ':'
                                       || b.key_id || ':' || extract(epoch FROM b.hour)::int8)) f
          WHERE f.nth <= $1
          ORDER BY f.nth, f.account_id
          LIMIT $2",
    )
    .bind::<BigInt, _>(ALERTS_PER_ACCOUNT_PER_RUN)
    .bind::<BigInt, _>(ALERTS_PER_RUN)
    .load(conn)
    .await?;
    let mut written = 0;
    for b in broken {
        let notice = NewNotice {
            account_id: b.account_id,
            kind: NoticeKind::UsageAlert,
            key_id: Some(b.key_id),
            idempotency_key: format!(
                "usage_alert:{}:{}:{}",
                b.rule_id,
                b.key_id,
                b.hour.timestamp()
            ),
            payload: serde_json::json!({
                "key_id": b.key_id, "name": b.name, "prefix": b.prefix, "rule": b.kind,
                "threshold": b.threshold, "hour": b.hour, "requests": b.total,
                "refused": b.refused, "rate_limited": b.rate_limited,
            }),
        };
        if enqueue(conn, notice).await?.is_some() {
            written += 1;
        }
    }
    Ok(written)
}
