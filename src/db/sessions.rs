//! The `sessions` table. Only the SHA-256 of a session id is stored. Every deadline is set and
//! compared with the database's clock (`now()`), so instances with skewed clocks agree.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Int8, Jsonb};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::sessions;

/// Loads a live session's state (alive by the database's clock), and pushes its idle deadline
/// forward when less than `idle - slack` of it remains, so a busy session costs one write per
/// `slack`, not one per request. The read is one statement diesel keeps prepared (no raw SQL
/// in it: diesel never caches those); the write happens only when due. Whether a touch is due
/// is judged on this instance's clock: it only decides when to write, never whether a session
/// is alive.
pub async fn load_and_touch(
    conn: &mut AsyncPgConnection,
    id_hash: &[u8],
    idle_secs: i64,
    slack_secs: i64,
) -> QueryResult<Option<serde_json::Value>> {
    let row: Option<(serde_json::Value, DateTime<Utc>, DateTime<Utc>)> = sessions::table
        .filter(sessions::id_hash.eq(id_hash))
        .filter(sessions::expires_at.gt(diesel::dsl::now))
        .filter(sessions::absolute_expires_at.gt(diesel::dsl::now))
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
    let due = Utc::now() + chrono::Duration::seconds(idle_secs - slack_secs);
    if expires_at < due.min(absolute) {
        diesel::sql_query(
            "UPDATE sessions
                SET expires_at = least(now() + make_interval(secs => $2), absolute_expires_at)
              WHERE id_hash = $1",
        )
        .bind::<Bytea, _>(id_hash)
        .bind::<Int8, _>(idle_secs)
        .execute(conn)
        .await?;
    }
    Ok(Some(state))
}

/// Stores a new session: idle deadline `idle_secs` from now, absolute `absolute_secs`.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    id_hash: &[u8],
    state: serde_json::Value,
    idle_secs: i64,
    absolute_secs: i64,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO sessions (id_hash, state, expires_at, absolute_expires_at)
         VALUES ($1, $2, now() + make_interval(secs => least($3, $4)),
                 now() + make_interval(secs => $4))",
    )
    .bind::<Bytea, _>(id_hash)
    .bind::<Jsonb, _>(state)
    .bind::<Int8, _>(idle_secs)
    .bind::<Int8, _>(absolute_secs)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Replaces a live session's state and extends its idle deadline (never past the absolute
/// one). Returns false when the session is gone: logged out, or past either deadline. A gone
/// session is never brought back.
pub async fn update_state(
    conn: &mut AsyncPgConnection,
    id_hash: &[u8],
    state: serde_json::Value,
    idle_secs: i64,
) -> QueryResult<bool> {
    let n = diesel::sql_query(
        "UPDATE sessions
            SET state = $2,
                expires_at = least(now() + make_interval(secs => $3), absolute_expires_at)
          WHERE id_hash = $1 AND expires_at > now() AND absolute_expires_at > now()",
    )
    .bind::<Bytea, _>(id_hash)
    .bind::<Jsonb, _>(state)
    .bind::<Int8, _>(idle_secs)
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

/// Deletes up to `batch` sessions past their idle deadline (which never lies past the absolute
/// one); returns how many. Used by the pruning task.
pub async fn delete_expired(conn: &mut AsyncPgConnection, batch: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM sessions WHERE id_hash IN (
             SELECT id_hash FROM sessions WHERE expires_at <= now()
              LIMIT $1 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Int8, _>(batch)
    .execute(conn)
    .await
}
