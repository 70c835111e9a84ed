//! The reads of an export (SPEC §15): an account's usage rows and audit events in a time
//! range, a page at a time in a fixed order, each page starting after the last row of the one
//! before (keyset pagination: no offset to skip over, and a row added meanwhile moves nothing).
//! Both are filtered by the owning account.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{api_keys, audit_events, key_usage_hourly, users};
use crate::domain::AuditAction;
use crate::domain::usage::Outcome;

/// Rows per page (and per chunk of the response).
pub const PAGE_ROWS: i64 = 1_000;

/// One hour of one key with one outcome.
#[derive(Debug, Clone, Queryable)]
pub struct UsageRow {
    /// The hour (UTC).
    pub hour: DateTime<Utc>,
    /// The key.
    pub key_id: Uuid,
    /// How its verifications ended.
    pub outcome: Outcome,
    /// How many.
    pub requests: i64,
    /// The key's name.
    pub name: String,
    /// The key's first 12 characters.
    pub prefix: String,
    /// The key's last 6 characters, when stored.
    pub tail: Option<String>,
}

impl UsageRow {
    /// Where the next page starts.
    pub fn cursor(&self) -> (DateTime<Utc>, Uuid, Outcome) {
        (self.hour, self.key_id, self.outcome)
    }
}

/// The account's usage with `start <= hour < end`, ordered by hour, key and outcome, after
/// `after` (the last row of the previous page).
pub async fn usage_page_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    after: Option<(DateTime<Utc>, Uuid, Outcome)>,
    limit: i64,
) -> QueryResult<Vec<UsageRow>> {
    use key_usage_hourly::{hour, key_id, outcome};
    let mut query = key_usage_hourly::table
        .inner_join(api_keys::table)
        .filter(api_keys::account_id.eq(account))
        .filter(hour.ge(start))
        .filter(hour.lt(end))
        .into_boxed();
    if let Some((h, k, o)) = after {
        query = query.filter(hour.ge(h)).filter(
            hour.gt(h)
                .or(hour.eq(h).and(key_id.gt(k)))
                .or(hour.eq(h).and(key_id.eq(k)).and(outcome.gt(o))),
        );
    }
    query
        .order((hour.asc(), key_id.asc(), outcome.asc()))
        .limit(limit)
        .select((
            hour,
            key_id,
            outcome,
            key_usage_hourly::requests,
            api_keys::name,
            api_keys::prefix,
            api_keys::tail,
        ))
        .load(conn)
        .await
}

/// One audit event, with the e-mail of whoever did it.
#[derive(Debug, Clone, Queryable)]
pub struct AuditRow {
    /// Insertion order.
    pub id: i64,
    /// When.
    pub created_at: DateTime<Utc>,
    /// What happened.
    pub action: AuditAction,
    /// The key concerned.
    pub key_id: Option<Uuid>,
    /// Non-secret details.
    pub detail: serde_json::Value,
    /// Client address.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Who did it (None: an operator, keydesk itself, or a deleted account).
    pub actor_email: Option<String>,
}

impl AuditRow {
    /// Where the next page starts.
    pub fn cursor(&self) -> (DateTime<Utc>, i64) {
        (self.created_at, self.id)
    }
}

/// The account's audit events with `start <= created_at < end`, oldest first, after `after`.
/// Without `staff_events`, support staff's own events (views, exports) are left out: they carry
/// staff's address and user agent, which are not the account's to download.
pub async fn audit_page_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    staff_events: bool,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    use audit_events::{created_at, id};
    let mut query = audit_events::table
        .left_join(users::table.on(users::id.nullable().eq(audit_events::actor_id)))
        .filter(audit_events::account_id.eq(account))
        .filter(created_at.ge(start))
        .filter(created_at.lt(end))
        .into_boxed();
    if !staff_events {
        query = query.filter(audit_events::action.not_like("support.%"));
    }
    if let Some((t, i)) = after {
        query = query
            .filter(created_at.ge(t))
            .filter(created_at.gt(t).or(created_at.eq(t).and(id.gt(i))));
    }
    query
        .order((created_at.asc(), id.asc()))
        .limit(limit)
        .select((
            id,
            created_at,
            audit_events::action,
            audit_events::key_id,
            audit_events::detail,
            audit_events::ip,
            audit_events::user_agent,
            users::email.nullable(),
        ))
        .load(conn)
        .await
}
