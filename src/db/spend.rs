//! Spends and caps (`key_spends`, `key_spend_caps`). A reservation is one transaction under a
//! per-key advisory lock, so spends of one key are judged one after another on every instance:
//! an answer already given for the idempotency key is returned as it was; otherwise the caps
//! and what the current UTC day and month (database clock) already reserved decide, and the
//! answer is stored with the spend. Voiding gives the amount back once.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::spend::{Caps, SpendAsk, SpendRefusal, Spent, judge, remaining};

#[derive(diesel::QueryableByName)]
struct Answer {
    #[diesel(sql_type = Jsonb)]
    answer: serde_json::Value,
}

#[derive(diesel::QueryableByName)]
struct CapRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    day_cents: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    month_cents: Option<i64>,
}

#[derive(diesel::QueryableByName)]
struct SpentRow {
    #[diesel(sql_type = BigInt)]
    day: i64,
    #[diesel(sql_type = BigInt)]
    month: i64,
}

/// The caps of `key` for `scope` (none when unset).
pub async fn caps(
    conn: &mut AsyncPgConnection,
    key: Uuid,
    scope: &str,
) -> diesel::QueryResult<Caps> {
    let rows: Vec<CapRow> = diesel::sql_query(
        "SELECT day_cents, month_cents FROM key_spend_caps WHERE key_id = $1 AND scope = $2",
    )
    .bind::<SqlUuid, _>(key)
    .bind::<Text, _>(scope)
    .load(conn)
    .await?;
    Ok(match rows.as_slice() {
        [r, ..] => Caps {
            day: r.day_cents,
            month: r.month_cents,
        },
        [] => Caps::default(),
    })
}

/// What `key` reserved under `scope` in the current UTC day and month (database clock).
pub async fn spent(
    conn: &mut AsyncPgConnection,
    key: Uuid,
    scope: &str,
) -> diesel::QueryResult<Spent> {
    let s: SpentRow = diesel::sql_query(
        "SELECT coalesce(sum(amount_cents) FILTER (
                    WHERE created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), 0)::int8 AS day,
                coalesce(sum(amount_cents), 0)::int8 AS month
           FROM key_spends
          WHERE key_id = $1 AND scope = $2 AND status = 'reserved'
            AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    )
    .bind::<SqlUuid, _>(key)
    .bind::<Text, _>(scope)
    .get_result(conn)
    .await?;
    Ok(Spent {
        day: s.day,
        month: s.month,
    })
}

/// Asks to spend `ask` with `key` (already verified like introspection). `has_scope`: the key
/// has the scope. Returns the answer (`allowed`, `spend_id` or `refusal`, `remaining_day`,
/// `remaining_month`), the same for every retry with the same idempotency key.
pub async fn reserve(
    conn: &mut AsyncPgConnection,
    key: Uuid,
    ask: &SpendAsk,
    has_scope: bool,
) -> diesel::QueryResult<serde_json::Value> {
    crate::db::retry::transaction!(conn, async move |conn| {
        let ask = ask.clone();
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('spend:' || $1::text))")
            .bind::<SqlUuid, _>(key)
            .execute(conn)
            .await?;
        let given: Vec<Answer> = diesel::sql_query(
            "SELECT answer FROM key_spends WHERE key_id = $1 AND idempotency_key = $2",
        )
        .bind::<SqlUuid, _>(key)
        .bind::<Text, _>(&ask.idempotency_key)
        .load(conn)
        .await?;
        if let Some(a) = given.into_iter().next() {
            return Ok(a.answer);
        }
        let caps = caps(conn, key, &ask.scope).await?;
        let spent = spent(conn, key, &ask.scope).await?;
        let verdict = if has_scope {
            judge(caps, spent, ask.amount_cents)
        } else {
            Err(SpendRefusal::ScopeMissing)
        };
        let id = Uuid::new_v4();
        let after = match verdict {
            Ok(()) => Spent {
                day: spent.day + ask.amount_cents,
                month: spent.month + ask.amount_cents,
            },
            Err(_) => spent,
        };
        let (day, month) = remaining(caps, after);
        let answer = match verdict {
            Ok(()) => serde_json::json!({
                "allowed": true, "spend_id": id, "remaining_day": day, "remaining_month": month,
            }),
            Err(r) => serde_json::json!({
                "allowed": false, "refusal": r.as_str(), "remaining_day": day,
                "remaining_month": month,
            }),
        };
        diesel::sql_query(
            "INSERT INTO key_spends (id, key_id, scope, amount_cents, idempotency_key, description,
                                     status, answer)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(key)
        .bind::<Text, _>(&ask.scope)
        .bind::<BigInt, _>(ask.amount_cents)
        .bind::<Text, _>(&ask.idempotency_key)
        .bind::<Text, _>(&ask.description)
        .bind::<Text, _>(if verdict.is_ok() {
            "reserved"
        } else {
            "refused"
        })
        .bind::<Jsonb, _>(&answer)
        .execute(conn)
        .await?;
        Ok(answer)
    })
}

/// What voiding a spend did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoidOutcome {
    /// Given back now.
    Voided,
    /// It was voided before: nothing changed.
    AlreadyVoided,
    /// It was refused: there is nothing to give back.
    NotReserved,
    /// No such spend.
    NotFound,
}

/// Gives a reserved spend's amount back (idempotent).
pub async fn void(conn: &mut AsyncPgConnection, id: Uuid) -> diesel::QueryResult<VoidOutcome> {
    #[derive(diesel::QueryableByName)]
    struct Status {
        #[diesel(sql_type = Text)]
        status: String,
    }
    conn.transaction(async move |conn| {
        let rows: Vec<Status> =
            diesel::sql_query("SELECT status FROM key_spends WHERE id = $1 FOR UPDATE")
                .bind::<SqlUuid, _>(id)
                .load(conn)
                .await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(VoidOutcome::NotFound);
        };
        match row.status.as_str() {
            "voided" => Ok(VoidOutcome::AlreadyVoided),
            "refused" => Ok(VoidOutcome::NotReserved),
            _ => {
                diesel::sql_query(
                    "UPDATE key_spends SET status = 'voided', voided_at = now() WHERE id = $1",
                )
                .bind::<SqlUuid, _>(id)
                .execute(conn)
                .await?;
                Ok(VoidOutcome::Voided)
            }
        }
    })
    .await
}

/// A spend as the owner's page lists it.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct SpendRow {
    /// Its id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Cents.
    #[diesel(sql_type = BigInt)]
    pub amount_cents: i64,
    /// As the platform described it.
    #[diesel(sql_type = Text)]
    pub description: String,
    /// `reserved`, `refused` or `voided`.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// When it was asked.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// The latest `limit` spends of the account's key `key`, newest first (owner filter in the
/// query).
pub async fn recent_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    key: Uuid,
    limit: i64,
) -> diesel::QueryResult<Vec<SpendRow>> {
    diesel::sql_query(
        "SELECT s.id, s.amount_cents, s.description, s.status, s.created_at
           FROM key_spends s JOIN api_keys k ON k.id = s.key_id
          WHERE s.key_id = $1 AND k.account_id = $2
          ORDER BY s.created_at DESC LIMIT $3",
    )
    .bind::<SqlUuid, _>(key)
    .bind::<SqlUuid, _>(account)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// What saving caps did.
#[derive(Debug)]
pub enum CapsOutcome {
    /// Saved.
    Saved,
    /// They were already so.
    Unchanged,
    /// A cap is raised or removed and the caller did not confirm the password (decided under
    /// the key's lock).
    NeedsPassword,
    /// Revoked keys can't change.
    Revoked,
    /// No such key on this account.
    NotFound,
}

/// Sets the caps of the account's key `key` for `scope` (both None: no caps). `may_loosen`: the
/// recent password was confirmed. Audited with before and after.
pub async fn set_caps_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    key: Uuid,
    scope: &str,
    to: Caps,
    may_loosen: bool,
    origin: &crate::db::audit::Origin,
) -> diesel::QueryResult<CapsOutcome> {
    use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
    crate::db::retry::transaction!(conn, async move |conn| {
        let scope = scope.to_owned();
        use crate::db::api_keys::KeyRow;
        use crate::db::schema::api_keys as k;
        let row: Option<KeyRow> = k::table
            .filter(k::account_id.eq(account))
            .filter(k::id.eq(key))
            .select(KeyRow::as_select())
            .for_no_key_update()
            .first(conn)
            .await
            .optional()?;
        let Some(row) = row else {
            return Ok(CapsOutcome::NotFound);
        };
        if row.revoked_at.is_some() {
            return Ok(CapsOutcome::Revoked);
        }
        let from = caps(conn, key, &scope).await?;
        if from == to {
            return Ok(CapsOutcome::Unchanged);
        }
        if crate::domain::spend::loosens(from, to) && !may_loosen {
            return Ok(CapsOutcome::NeedsPassword);
        }
        if to == Caps::default() {
            diesel::sql_query("DELETE FROM key_spend_caps WHERE key_id = $1 AND scope = $2")
                .bind::<SqlUuid, _>(key)
                .bind::<Text, _>(&scope)
                .execute(conn)
                .await?;
        } else {
            diesel::sql_query(
                "INSERT INTO key_spend_caps (key_id, scope, day_cents, month_cents)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key_id, scope) DO UPDATE
                    SET day_cents = excluded.day_cents, month_cents = excluded.month_cents",
            )
            .bind::<SqlUuid, _>(key)
            .bind::<Text, _>(&scope)
            .bind::<Nullable<BigInt>, _>(to.day)
            .bind::<Nullable<BigInt>, _>(to.month)
            .execute(conn)
            .await?;
        }
        let detail = serde_json::json!({
            "scope": scope,
            "from": { "day_cents": from.day, "month_cents": from.month },
            "to": { "day_cents": to.day, "month_cents": to.month },
        });
        crate::db::api_keys::record_key_event(
            conn,
            account,
            crate::domain::AuditAction::KeySpendCapsChanged,
            &row,
            detail,
            origin,
        )
        .await?;
        Ok(CapsOutcome::Saved)
    })
}
