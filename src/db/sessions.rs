//! The `sessions` table. Only the SHA-256 of a session id is stored.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::sessions;

/// Loads a live session's state, and pushes its idle deadline forward when less than
/// `idle - slack` of it remains, so a busy session costs one write per `slack`, not one per
/// request. The read is a plain (prepared, cached) query; the write happens only when due.
pub async fn load_and_touch(
    conn: &mut AsyncPgConnection,
    id_hash: &[u8],
    idle_secs: i64,
    slack_secs: i64,
) -> QueryResult<Option<serde_json::Value>> {
    let now = Utc::now();
    let row: Option<(serde_json::Value, DateTime<Utc>, DateTime<Utc>)> = sessions::table
        .filter(sessions::id_hash.eq(id_hash))
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::absolute_expires_at.gt(now))
        .select((
            sessions::state,
            sessions::expires_at,
            sessions::absolute_expires_at,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((state, expires_at, absolute)) = row else {
        return Ok(None);
    };
    let idle = chrono::Duration::seconds(idle_secs);
    if expires_at < now + idle - chrono::Duration::seconds(slack_secs) {
        diesel::update(sessions::table.filter(sessions::id_hash.eq(id_hash)))
            .set(sessions::expires_at.eq((now + idle).min(absolute)))
            .execute(conn)
            .await?;
    }
    Ok(Some(state))
}

/// Stores a new session.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    id_hash: &[u8],
    state: serde_json::Value,
    expires_at: DateTime<Utc>,
    absolute_expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id_hash.eq(id_hash),
            sessions::state.eq(state),
            sessions::expires_at.eq(expires_at),
            sessions::absolute_expires_at.eq(absolute_expires_at),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Replaces a live session's state and extends its idle deadline (never past the absolute one).
/// Returns false when the session no longer exists.
pub async fn update_state(
    conn: &mut AsyncPgConnection,
    id_hash: &[u8],
    state: serde_json::Value,
    expires_at: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::update(
        sessions::table
            .filter(sessions::id_hash.eq(id_hash))
            .filter(sessions::absolute_expires_at.gt(diesel::dsl::now)),
    )
    .set((
        sessions::state.eq(state),
        sessions::expires_at.eq(diesel::dsl::sql::<diesel::sql_types::Timestamptz>("LEAST(")
            .bind::<diesel::sql_types::Timestamptz, _>(expires_at)
            .sql(", absolute_expires_at)")),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Deletes a session (logout).
pub async fn delete(conn: &mut AsyncPgConnection, id_hash: &[u8]) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::id_hash.eq(id_hash)))
        .execute(conn)
        .await
}

/// Removes expired sessions; returns how many.
pub async fn delete_expired(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::delete(
        sessions::table.filter(
            sessions::expires_at
                .le(diesel::dsl::now)
                .or(sessions::absolute_expires_at.le(diesel::dsl::now)),
        ),
    )
    .execute(conn)
    .await
}
