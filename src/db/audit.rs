//! The `audit_events` table: every change and login, with actor, time and IP.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::audit_events;
use crate::domain::AuditAction;

/// Where a request came from, for the trail.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// Client IP (the peer address; keydesk does not trust forwarding headers).
    pub ip: Option<String>,
    /// User-Agent, truncated.
    pub user_agent: Option<String>,
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Account the event concerns.
    pub account_id: Option<Uuid>,
    /// Who did it.
    pub actor_id: Option<Uuid>,
    /// What happened.
    pub action: AuditAction,
    /// Key concerned.
    pub key_id: Option<Uuid>,
    /// Non-secret context.
    pub detail: serde_json::Value,
}

/// A recorded event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct Event {
    /// Insertion order (breaks ties of `created_at`).
    pub id: i64,
    /// The account the event concerns.
    pub account_id: Option<Uuid>,
    /// Who did it (None: an operator or the system).
    pub actor_id: Option<Uuid>,
    /// What happened.
    pub action: AuditAction,
    /// The key concerned, if any.
    pub key_id: Option<Uuid>,
    /// Non-secret details (name, prefix, address, reason…).
    pub detail: serde_json::Value,
    /// IP.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

/// Writes one event (call inside the transaction of the change it records).
pub async fn record(
    conn: &mut AsyncPgConnection,
    ev: NewEvent,
    origin: &Origin,
) -> QueryResult<()> {
    let ua = origin
        .user_agent
        .as_deref()
        .map(|u| u.chars().take(256).collect::<String>());
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::account_id.eq(ev.account_id),
            audit_events::actor_id.eq(ev.actor_id),
            audit_events::action.eq(ev.action),
            audit_events::key_id.eq(ev.key_id),
            audit_events::detail.eq(ev.detail),
            audit_events::ip.eq(origin.ip.as_deref()),
            audit_events::user_agent.eq(ua),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Every event of an account with a given action (tests and support).
pub async fn list_for_account_action(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    action: AuditAction,
) -> QueryResult<Vec<Event>> {
    audit_events::table
        .filter(audit_events::account_id.eq(account))
        .filter(audit_events::action.eq(action))
        .order(audit_events::id.asc())
        .select(Event::as_select())
        .load(conn)
        .await
}

/// An account's trail, newest first, a page at a time; without `staff_views`, support staff's
/// own "viewed the account" events are left out (they would drown the customer's).
pub async fn page_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    staff_views: bool,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<Event>> {
    let mut query = audit_events::table
        .filter(audit_events::account_id.eq(account))
        .into_boxed();
    if !staff_views {
        query = query.filter(audit_events::action.ne(AuditAction::SupportViewed));
    }
    query
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(Event::as_select())
        .load(conn)
        .await
}

/// The latest events about one of the account's keys, newest first.
pub async fn list_for_key(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    key: Uuid,
    limit: i64,
) -> QueryResult<Vec<Event>> {
    audit_events::table
        .filter(audit_events::account_id.eq(account))
        .filter(audit_events::key_id.eq(key))
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .limit(limit)
        .select(Event::as_select())
        .load(conn)
        .await
}
