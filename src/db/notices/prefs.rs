//! `notification_preferences` (switches per event type × channel; a missing row is the
//! default) and `webhook_endpoints` (one signed destination per account). Every query is
//! filtered by the owning account.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{notification_preferences as np, webhook_endpoints as we};
use crate::domain::notice::{Channel, EventType};
use crate::domain::webhook::WebhookSecret;

/// An account's switches, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences(Vec<(EventType, Channel, bool)>);

impl Preferences {
    /// Whether `event` goes out on `channel`.
    pub fn on(&self, event: EventType, channel: Channel) -> bool {
        self.0
            .iter()
            .find(|(e, c, _)| *e == event && *c == channel)
            .map_or_else(|| event.default_on(channel), |(_, _, on)| *on)
    }
}

/// The account's preferences.
pub async fn for_account(conn: &mut AsyncPgConnection, account: Uuid) -> QueryResult<Preferences> {
    let rows: Vec<(String, String, bool)> = np::table
        .filter(np::account_id.eq(account))
        .select((np::event, np::channel, np::enabled))
        .load(conn)
        .await?;
    Ok(Preferences(
        rows.into_iter()
            .filter_map(|(e, c, on)| Some((EventType::parse(&e)?, Channel::parse(&c)?, on)))
            .collect(),
    ))
}

/// The channels `event` goes out on for the account.
pub async fn enabled_channels(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    event: EventType,
) -> QueryResult<Vec<Channel>> {
    let prefs = for_account(conn, account).await?;
    Ok(Channel::ALL
        .iter()
        .copied()
        .filter(|c| prefs.on(event, *c))
        .collect())
}

/// Stores every switch (each event type × channel) at once.
pub async fn save_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    on: impl Fn(EventType, Channel) -> bool,
) -> QueryResult<()> {
    let rows: Vec<_> = EventType::ALL
        .iter()
        .flat_map(|e| Channel::ALL.iter().map(move |c| (*e, *c)))
        .map(|(e, c)| {
            (
                np::account_id.eq(account),
                np::event.eq(e.as_str()),
                np::channel.eq(c.as_str()),
                np::enabled.eq(on(e, c)),
            )
        })
        .collect();
    diesel::insert_into(np::table)
        .values(rows)
        .on_conflict((np::account_id, np::event, np::channel))
        .do_update()
        .set(np::enabled.eq(excluded(np::enabled)))
        .execute(conn)
        .await?;
    Ok(())
}

/// An account's webhook destination. `Debug` never shows the secret.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// Where events are POSTed.
    pub url: String,
    /// The signing key.
    pub secret: WebhookSecret,
    /// When it was set up.
    pub created_at: DateTime<Utc>,
}

/// The account's webhook, if it set one up.
pub async fn find_webhook_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
) -> QueryResult<Option<Webhook>> {
    let row: Option<(String, Vec<u8>, DateTime<Utc>)> = we::table
        .filter(we::account_id.eq(account))
        .select((we::url, we::secret, we::created_at))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(url, secret, created_at)| Webhook {
        url,
        secret: WebhookSecret::from_bytes(secret),
        created_at,
    }))
}

/// Sets (or replaces) the account's webhook with a new secret. The secret is stored because
/// every delivery must be signed with it; it is shown to the user once and never logged.
pub async fn set_webhook_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    url: &str,
    secret: &WebhookSecret,
) -> QueryResult<()> {
    diesel::insert_into(we::table)
        .values((
            we::account_id.eq(account),
            we::url.eq(url),
            we::secret.eq(secret.expose()),
        ))
        .on_conflict(we::account_id)
        .do_update()
        .set((
            we::url.eq(excluded(we::url)),
            we::secret.eq(excluded(we::secret)),
            we::created_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes the account's webhook; its pending deliveries are skipped by the worker.
pub async fn delete_webhook_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
) -> QueryResult<bool> {
    conn.transaction(async move |conn| {
        let n = diesel::delete(we::table.filter(we::account_id.eq(account)))
            .execute(conn)
            .await?;
        Ok(n == 1)
    })
    .await
}
