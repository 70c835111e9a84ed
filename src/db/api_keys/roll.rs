//! Rolling a key: a successor with a new secret and the same settings, while the old secret
//! keeps working for a grace period — so scripts can be moved over without downtime.

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{KeyRow, NewKey, record_key_event};
use crate::db::audit::Origin;
use crate::db::schema::api_keys;
use crate::domain::AuditAction;
use crate::domain::key_status::is_expired;

/// How long the old secret keeps working after a roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grace {
    /// The old secret stops at once (it is revoked).
    Now,
    /// One hour.
    OneHour,
    /// 24 hours.
    OneDay,
    /// 7 days.
    SevenDays,
}

impl Grace {
    /// Every choice, in the order the form lists them.
    pub const ALL: [Grace; 4] = [Grace::Now, Grace::OneHour, Grace::OneDay, Grace::SevenDays];

    /// The form value.
    pub fn as_str(self) -> &'static str {
        match self {
            Grace::Now => "now",
            Grace::OneHour => "1h",
            Grace::OneDay => "24h",
            Grace::SevenDays => "7d",
        }
    }

    /// Parses the form value.
    pub fn parse(s: &str) -> Option<Grace> {
        Grace::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// What the choice reads as.
    pub fn label(self) -> &'static str {
        match self {
            Grace::Now => "Now — the old key stops working at once",
            Grace::OneHour => "In 1 hour",
            Grace::OneDay => "In 24 hours",
            Grace::SevenDays => "In 7 days",
        }
    }

    /// The length of the grace period.
    pub fn duration(self) -> Duration {
        match self {
            Grace::Now => Duration::zero(),
            Grace::OneHour => Duration::hours(1),
            Grace::OneDay => Duration::hours(24),
            Grace::SevenDays => Duration::days(7),
        }
    }
}

/// What a roll did.
#[derive(Debug)]
pub enum RollOutcome {
    /// Rolled: the successor (its secret is the caller's) and the old key as it is now.
    Rolled {
        /// The new key.
        successor: Box<KeyRow>,
        /// The old key: rolling until the grace end, or revoked for `Grace::Now`.
        old: Box<KeyRow>,
    },
    /// This request id already rolled the key: nothing new was made (the successor then).
    AlreadyRolled(Box<KeyRow>),
    /// The key is revoked.
    Revoked,
    /// The key is expired: re-date it or create a new one.
    Expired,
    /// The key is already rolling.
    Rolling,
    /// No such key on this account.
    NotFound,
}

/// Rolls one of the account's keys onto `successor` (made by `NewKey::generate` with the old
/// key's name, note and scopes) in one transaction under the account-row lock, then the key's
/// (the one lock order, `db::retry`; run again when it loses a race): the old key
/// becomes Rolling with its expiry cut to the end of the grace period (never extended), the
/// successor is inserted, the two are linked, and one `key.rolled` event names both. The
/// limit is unaffected: the successor counts and the rolling key stops counting.
pub async fn roll_for_account(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    successor: NewKey,
    grace: Grace,
    origin: &Origin,
) -> QueryResult<RollOutcome> {
    let account = successor.account_id;
    let successor = &successor;
    crate::db::retry::transaction!(conn, async move |conn| {
        if crate::db::users::lock_for_no_key_update(conn, account)
            .await?
            .is_none()
        {
            return Ok(RollOutcome::NotFound);
        }
        if let Some(rid) = successor.request_id
            && let Some(done) = find_by_request_id(conn, account, rid).await?
        {
            return Ok(RollOutcome::AlreadyRolled(Box::new(done)));
        }
        let old: Option<KeyRow> = api_keys::table
            .filter(api_keys::account_id.eq(account))
            .filter(api_keys::id.eq(id))
            .select(KeyRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some(old) = old else {
            return Ok(RollOutcome::NotFound);
        };
        let now = crate::db::now(conn).await?; // the database's clock decides every expiry
        if old.revoked_at.is_some() {
            return Ok(RollOutcome::Revoked);
        }
        if is_expired(old.expires_at, now) {
            return Ok(RollOutcome::Expired);
        }
        if old.rolled_at.is_some() {
            return Ok(RollOutcome::Rolling);
        }
        let grace_end = now + grace.duration();
        let stops_at = old.expires_at.map_or(grace_end, |e| e.min(grace_end));
        // Mark the old key rolling first: it then no longer holds the name its successor takes.
        let target = api_keys::table
            .filter(api_keys::account_id.eq(account))
            .filter(api_keys::id.eq(id));
        diesel::update(target)
            .set((
                api_keys::rolled_at.eq(now),
                api_keys::expires_at.eq(Some(stops_at)),
            ))
            .execute(conn)
            .await?;
        let new_row: KeyRow = diesel::insert_into(api_keys::table)
            .values(successor)
            .returning(KeyRow::as_returning())
            .get_result(conn)
            .await?;
        // the successor keeps the old key's network binding: a roll never loosens it
        let new_row: KeyRow = diesel::update(api_keys::table.find(new_row.id))
            .set((
                api_keys::network_mode.eq(old.network_mode),
                api_keys::networks.eq(&old.networks),
            ))
            .returning(KeyRow::as_returning())
            .get_result(conn)
            .await?;
        let old_row: KeyRow = if grace == Grace::Now {
            diesel::update(target)
                .set((
                    api_keys::rolled_to.eq(new_row.id),
                    api_keys::revoked_at.eq(now),
                    api_keys::revoked_by.eq(account),
                ))
                .returning(KeyRow::as_returning())
                .get_result(conn)
                .await?
        } else {
            diesel::update(target)
                .set(api_keys::rolled_to.eq(new_row.id))
                .returning(KeyRow::as_returning())
                .get_result(conn)
                .await?
        };
        let extra = serde_json::json!({
            "grace": grace.as_str(),
            "stops_at": stops_at,
            "successor_id": new_row.id,
            "successor_prefix": new_row.prefix,
            "successor_tail": new_row.tail,
        });
        record_key_event(
            conn,
            account,
            AuditAction::KeyRolled,
            &old_row,
            extra,
            origin,
        )
        .await?;
        Ok(RollOutcome::Rolled {
            successor: Box::new(new_row),
            old: Box::new(old_row),
        })
    })
}

/// The account's key that was rolled onto `id`, if any (the successor's page links back to it
/// while it still works).
pub async fn rolled_onto(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
) -> QueryResult<Option<KeyRow>> {
    api_keys::table
        .filter(api_keys::account_id.eq(account))
        .filter(api_keys::rolled_to.eq(id))
        .select(KeyRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The account's key made by the form with this one-time id, if any (a resubmitted form).
pub async fn find_by_request_id(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    request_id: Uuid,
) -> QueryResult<Option<KeyRow>> {
    api_keys::table
        .filter(api_keys::account_id.eq(account))
        .filter(api_keys::request_id.eq(request_id))
        .select(KeyRow::as_select())
        .first(conn)
        .await
        .optional()
}
