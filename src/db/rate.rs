//! Leasing a slice of a key's window budget (`key_rate_windows`): one conditional upsert that
//! adds at most the slice and never past the limit, returning what it added (computed from the
//! row as it was, under the row lock, so two instances leasing at once each learn their own
//! slice). Windows older than a day are pruned.

use diesel::sql_types::{BigInt, Int4, Uuid as SqlUuid};
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl as _;
use uuid::Uuid;

#[derive(diesel::QueryableByName)]
struct Leased {
    #[diesel(sql_type = Int4)]
    last_slice: i32,
    #[diesel(sql_type = Int4)]
    granted: i32,
}

/// Leases up to `slice` of `key`'s budget `limit` in window `window_no`: `(added, granted in
/// all)`, or `(0, limit)` when the window's budget is spent.
pub async fn lease(
    conn: &mut AsyncPgConnection,
    key: Uuid,
    window_no: i64,
    slice: i32,
    limit: i32,
) -> diesel::QueryResult<(i32, i32)> {
    let rows: Vec<Leased> = diesel::sql_query(
        "INSERT INTO key_rate_windows AS w (key_id, window_no, granted, last_slice)
         VALUES ($1, $2, least($3, $4), least($3, $4))
         ON CONFLICT (key_id, window_no) DO UPDATE
            SET last_slice = least($3, $4 - w.granted),
                granted = w.granted + least($3, $4 - w.granted)
          WHERE w.granted < $4
      RETURNING w.last_slice, w.granted",
    )
    .bind::<SqlUuid, _>(key)
    .bind::<BigInt, _>(window_no)
    .bind::<Int4, _>(slice)
    .bind::<Int4, _>(limit)
    .load(conn)
    .await?;
    Ok(match rows.as_slice() {
        [r, ..] => (r.last_slice, r.granted),
        [] => (0, limit),
    })
}

/// Deletes up to `batch` windows begun more than a day ago, for the pruning task.
pub async fn prune(conn: &mut AsyncPgConnection, batch: i64) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM key_rate_windows WHERE (key_id, window_no) IN (
             SELECT key_id, window_no FROM key_rate_windows
              WHERE created_at < now() - interval '1 day'
              LIMIT $1 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<BigInt, _>(batch)
    .execute(conn)
    .await
}

/// The most any window of the last 24 hours leased of `key`'s limit (what the instances took
/// from the budget: at least what they accepted, at most a slice per instance more).
pub async fn peak_last_day(
    conn: &mut AsyncPgConnection,
    key: Uuid,
) -> diesel::QueryResult<Option<i32>> {
    #[derive(diesel::QueryableByName)]
    struct Peak {
        #[diesel(sql_type = diesel::sql_types::Nullable<Int4>)]
        peak: Option<i32>,
    }
    let p: Peak = diesel::sql_query(
        "SELECT max(granted) AS peak FROM key_rate_windows
          WHERE key_id = $1 AND created_at > now() - interval '1 day'",
    )
    .bind::<SqlUuid, _>(key)
    .get_result(conn)
    .await?;
    Ok(p.peak)
}
