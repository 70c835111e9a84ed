//! The notification outbox. `enqueue` writes a notice, inside the caller's transaction, with
//! one delivery row per outside channel the account wants (its preferences, and a webhook only
//! when one is set up); the in-app channel is the notice row itself. A notice's idempotency
//! key names the condition, so detecting it twice makes one notice.
//!
//! `outbox` holds the worker's claim/mark queries and the operator listing; `prefs` the
//! preferences and webhook endpoints; `digest` and `alerts` the detectors' queries.

pub mod alerts;
pub mod digest;
pub mod outbox;
pub mod prefs;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{notice_deliveries, notices};
use crate::domain::notice::{Channel, EventType, NoticeKind};

/// Why a delivery was not queued: the account had `outbox::MAX_PENDING_PER_ACCOUNT` waiting.
pub const QUEUE_FULL: &str = "not queued: this account has too many deliveries waiting";

/// A notice to write. Build it with one of the constructors, which fix the idempotency key.
#[derive(Debug, Clone)]
pub struct NewNotice {
    /// The account told.
    pub account_id: Uuid,
    /// What it tells.
    pub kind: NoticeKind,
    /// The key concerned, if any.
    pub key_id: Option<Uuid>,
    /// Names the condition: a second notice with the same key is not written.
    pub idempotency_key: String,
    /// Non-secret details the texts are made from (names, prefixes, addresses, counts).
    pub payload: serde_json::Value,
}

impl NewNotice {
    /// A key was revoked because it was found exposed; `url` is where it was found, if known.
    pub fn key_exposed_revoked(
        account: Uuid,
        key: Uuid,
        name: &str,
        prefix: &str,
        url: Option<&str>,
    ) -> Self {
        Self {
            account_id: account,
            kind: NoticeKind::KeyExposedRevoked,
            key_id: Some(key),
            idempotency_key: format!("key_exposed_revoked:{key}"),
            payload: serde_json::json!({
                "key_id": key, "name": name, "prefix": prefix,
                "url": url.map(|u| u.chars().take(512).collect::<String>()),
            }),
        }
    }

    /// The last self-custodied wallet was unlinked (the account's keys are paused).
    pub fn wallet_unlinked(account: Uuid, wallet: Uuid, address: &str) -> Self {
        Self {
            account_id: account,
            kind: NoticeKind::WalletUnlinked,
            key_id: None,
            idempotency_key: format!("wallet_unlinked:{wallet}"),
            payload: serde_json::json!({ "address": address }),
        }
    }

    /// An operator turned API keys off (the account's keys are paused). Each change is its own
    /// event.
    pub fn api_keys_disabled(account: Uuid) -> Self {
        Self {
            account_id: account,
            kind: NoticeKind::ApiKeysDisabled,
            key_id: None,
            idempotency_key: format!("api_keys_disabled:{account}:{}", Uuid::new_v4()),
            payload: serde_json::json!({}),
        }
    }

    /// A test event for the account's webhook.
    pub fn webhook_test(account: Uuid) -> Self {
        Self {
            account_id: account,
            kind: NoticeKind::WebhookTest,
            key_id: None,
            idempotency_key: format!("webhook_test:{}", Uuid::new_v4()),
            payload: serde_json::json!({ "message": "This is a test event from keydesk." }),
        }
    }
}

/// Writes a notice and its deliveries in one transaction (a savepoint inside the caller's);
/// `Ok(None)` when a notice with the same idempotency key exists already.
pub async fn enqueue(conn: &mut AsyncPgConnection, notice: NewNotice) -> QueryResult<Option<Uuid>> {
    conn.transaction(async move |conn| {
        let wanted = match notice.kind.event_type() {
            Some(ev) => prefs::enabled_channels(conn, notice.account_id, ev).await?,
            None => vec![Channel::Webhook],
        };
        let mut outside: Vec<Channel> = Vec::new();
        if wanted.contains(&Channel::Email) {
            outside.push(Channel::Email);
        }
        if wanted.contains(&Channel::Webhook)
            && prefs::find_webhook_for_account(conn, notice.account_id)
                .await?
                .is_some()
        {
            outside.push(Channel::Webhook);
        }
        let in_app = wanted.contains(&Channel::InApp) && notice.kind != NoticeKind::WebhookTest;
        let id: Option<Uuid> = diesel::insert_into(notices::table)
            .values((
                notices::id.eq(Uuid::new_v4()),
                notices::account_id.eq(notice.account_id),
                notices::kind.eq(notice.kind),
                notices::key_id.eq(notice.key_id),
                notices::idempotency_key.eq(&notice.idempotency_key),
                notices::payload.eq(&notice.payload),
                notices::in_app.eq(in_app),
            ))
            .on_conflict(notices::idempotency_key)
            .do_nothing()
            .returning(notices::id)
            .get_result(conn)
            .await
            .optional()?;
        let Some(id) = id else {
            return Ok(None);
        };
        if !outside.is_empty() {
            // Security notices always queue; anything else beyond an account's share of the
            // queue is kept as skipped (the operator listing shows why).
            let security = notice.kind.event_type() == Some(EventType::Security);
            let mut rows = Vec::with_capacity(outside.len());
            for c in outside {
                let full = !security
                    && outbox::pending_for_account(conn, notice.account_id, c).await?
                        >= outbox::MAX_PENDING_PER_ACCOUNT;
                rows.push((
                    notice_deliveries::notice_id.eq(id),
                    notice_deliveries::channel.eq(c.as_str()),
                    notice_deliveries::status.eq(if full { "skipped" } else { "pending" }),
                    notice_deliveries::last_error.eq(full.then_some(QUEUE_FULL)),
                ));
            }
            diesel::insert_into(notice_deliveries::table)
                .values(rows)
                .execute(conn)
                .await?;
        }
        Ok(Some(id))
    })
    .await
}

/// Test events an account may queue per minute (database clock).
pub const TEST_EVENTS_PER_MINUTE: i64 = 5;

/// Queues a webhook test event unless the account queued `TEST_EVENTS_PER_MINUTE` in the last
/// minute; false when refused. Counted under a per-account lock, so presses racing on several
/// instances cannot pass the bound.
pub async fn enqueue_webhook_test(
    conn: &mut AsyncPgConnection,
    account: Uuid,
) -> QueryResult<bool> {
    use diesel::sql_types::Uuid as SqlUuid;
    conn.transaction(async move |conn| {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('webhook_test:' || $1::text))")
            .bind::<SqlUuid, _>(account)
            .execute(conn)
            .await?;
        let recent: i64 = notices::table
            .filter(notices::account_id.eq(account))
            .filter(notices::kind.eq(NoticeKind::WebhookTest))
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "created_at > now() - interval '1 minute'",
            ))
            .count()
            .get_result(conn)
            .await?;
        if recent >= TEST_EVENTS_PER_MINUTE {
            return Ok(false);
        }
        enqueue(conn, NewNotice::webhook_test(account)).await?;
        Ok(true)
    })
    .await
}

/// Days a notice (with its deliveries) is kept.
pub const RETENTION_DAYS: i64 = 90;

/// Deletes up to `batch` notices older than the retention whose deliveries are all finished
/// (for the pruning task). Their expiry reminders go with them; by then those keys are far
/// past the digest's window.
pub async fn prune(conn: &mut AsyncPgConnection, batch: i64) -> QueryResult<usize> {
    use diesel::sql_types::BigInt;
    diesel::sql_query(
        "DELETE FROM notices WHERE id IN (
             SELECT n.id FROM notices n
              WHERE n.created_at < now() - make_interval(days => $1::int)
                AND NOT EXISTS (SELECT 1 FROM notice_deliveries d
                                 WHERE d.notice_id = n.id AND d.status = 'pending')
              LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<BigInt, _>(RETENTION_DAYS)
    .bind::<BigInt, _>(batch)
    .execute(conn)
    .await
}

/// An unread in-app notice.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notices)]
pub struct InAppNotice {
    /// Its id (the dismiss form's target).
    pub id: Uuid,
    /// What it tells.
    pub kind: NoticeKind,
    /// The key concerned.
    pub key_id: Option<Uuid>,
    /// Details.
    pub payload: serde_json::Value,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// The account's unread in-app notices, newest first, at most `limit`, plus how many in all
/// (one query: the keys page runs it on every view).
pub async fn unread_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    limit: i64,
) -> QueryResult<(Vec<InAppNotice>, i64)> {
    let rows: Vec<(InAppNotice, i64)> = notices::table
        .filter(notices::account_id.eq(account))
        .filter(notices::in_app.eq(true))
        .filter(notices::dismissed_at.is_null())
        .order(notices::created_at.desc())
        .limit(limit)
        .select((
            InAppNotice::as_select(),
            diesel::dsl::sql::<diesel::sql_types::BigInt>("count(*) OVER ()"),
        ))
        .load(conn)
        .await?;
    let total = rows.iter().map(|(_, n)| *n).next().unwrap_or(0);
    Ok((rows.into_iter().map(|(n, _)| n).collect(), total))
}

/// Dismisses one of the account's notices; false when it has no such unread notice.
pub async fn dismiss_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
) -> QueryResult<bool> {
    let n = diesel::update(
        notices::table
            .filter(notices::account_id.eq(account))
            .filter(notices::id.eq(id))
            .filter(notices::dismissed_at.is_null()),
    )
    .set(notices::dismissed_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// A sighting of an address not seen for its key in the last 30 days.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct NewAddress {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    key_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    ip: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    account_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    prefix: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    day: String,
}

/// "New address" notices per key per day at most: a key used from a changing fleet of
/// addresses tells its owner a few times, not once per address.
pub const NEW_ADDRESSES_PER_DAY: i64 = 10;

/// Of the `(key, client address)` sightings about to be recorded, those of an address not seen
/// for its key in the last 30 days, unless the key is in its first day (call before the
/// sightings are added). Only the 50 most recent addresses of a key are kept, so on a key used
/// from more, an address that dropped out counts as new again.
pub async fn fresh_client_ips(
    conn: &mut AsyncPgConnection,
    seen: &[(Uuid, String)],
) -> QueryResult<Vec<NewAddress>> {
    use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
    if seen.is_empty() {
        return Ok(Vec::new());
    }
    diesel::sql_query(
        "/* keydesk background */ SELECT DISTINCT v.key_id, v.ip, k.account_id, k.name, k.prefix,
                to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day
           FROM unnest($1, $2) AS v(key_id, ip)
           JOIN api_keys k ON k.id = v.key_id
          WHERE k.created_at <= now() - interval '1 day'
            AND NOT EXISTS (SELECT 1 FROM key_client_ips c
                             WHERE c.key_id = v.key_id AND c.client_ip = v.ip
                               AND c.last_seen >= now() - interval '30 days')
          ORDER BY v.key_id, v.ip
          LIMIT 1000",
    )
    .bind::<Array<SqlUuid>, _>(seen.iter().map(|s| s.0).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(seen.iter().map(|s| s.1.as_str()).collect::<Vec<_>>())
    .load(conn)
    .await
}

/// Writes a "new address" notice for each fresh sighting, at most `NEW_ADDRESSES_PER_DAY` per
/// key and day (call in the transaction that adds the sightings). The idempotency key names
/// the key, the address and the day, so instances flushing the same sighting make one notice.
pub async fn new_client_ips(
    conn: &mut AsyncPgConnection,
    fresh: &[NewAddress],
) -> QueryResult<usize> {
    use diesel::sql_types::Uuid as SqlUuid;
    // Instances (and a flush at shutdown) may add sightings of one key at once: the cap is
    // counted under a per-key lock held to the end of the transaction, keys in order.
    let mut keys: Vec<Uuid> = fresh.iter().map(|f| f.key_id).collect();
    keys.sort();
    keys.dedup();
    let mut written = 0;
    for key in keys {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('new_client_ip:' || $1::text))")
            .bind::<SqlUuid, _>(key)
            .execute(conn)
            .await?;
        let mut told: i64 = notices::table
            .filter(notices::key_id.eq(key))
            .filter(notices::kind.eq(NoticeKind::NewClientIp))
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "created_at > now() - interval '1 day'",
            ))
            .count()
            .get_result(conn)
            .await?;
        for f in fresh.iter().filter(|f| f.key_id == key) {
            if told >= NEW_ADDRESSES_PER_DAY {
                break;
            }
            let notice = NewNotice {
                account_id: f.account_id,
                kind: NoticeKind::NewClientIp,
                key_id: Some(f.key_id),
                idempotency_key: format!("new_client_ip:{}:{}:{}", f.key_id, f.ip, f.day),
                payload: serde_json::json!({
                    "key_id": f.key_id, "name": f.name, "prefix": f.prefix, "ip": f.ip,
                }),
            };
            if enqueue(conn, notice).await?.is_some() {
                written += 1;
                told += 1;
            }
        }
    }
    Ok(written)
}
