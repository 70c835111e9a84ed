//! The pruning task: every `APP_PRUNE_INTERVAL_SECS`, deletes what has expired — sessions past
//! their deadline, wallet challenges that can no longer be used (a day after their expiry, so a
//! late "expired" answer still finds them), throttle rows whose window has passed, and what
//! keydesk keeps 90 days (SPEC §9, the README): hourly usage, client addresses not seen for 90
//! days, the address and user agent of a last use older than 90 days, and notices (with their
//! finished deliveries); and rate-limit windows begun more than a day ago.
//!
//! In batches of `BATCH` rows (`… LIMIT n FOR UPDATE SKIP LOCKED`), so no statement holds many
//! locks for long and several instances pruning at once skip each other's rows instead of
//! waiting. The clock is the database's.

use std::time::Duration;

use diesel::sql_types::Int8;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::{DbPool, notices, sessions, throttle, usage};

/// Rows deleted per statement.
pub const BATCH: i64 = 1_000;

/// What one pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Sessions past their deadline.
    pub sessions: usize,
    /// Wallet challenges.
    pub challenges: usize,
    /// Throttle rows (per e-mail and per IP).
    pub throttle: usize,
    /// Hourly usage rows past the retention.
    pub usage: usize,
    /// Client addresses last seen before the retention.
    pub client_ips: usize,
    /// Keys whose last use, older than the retention, lost its address and user agent.
    pub last_use: usize,
    /// Notices past the retention.
    pub notices: usize,
    /// Rate-limit windows begun more than a day ago.
    pub rate_windows: usize,
}

async fn challenges(conn: &mut AsyncPgConnection, batch: i64) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM wallet_challenges WHERE id IN (
             SELECT id FROM wallet_challenges WHERE expires_at <= now() - interval '1 day'
              LIMIT $1 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Int8, _>(batch)
    .execute(conn)
    .await
}

/// Runs batches until every table is clean; `window_secs` is the login throttle window (a row
/// whose window has passed and whose lock has ended counts for nothing any more).
pub async fn run_once(
    conn: &mut AsyncPgConnection,
    window_secs: i64,
) -> diesel::QueryResult<Pruned> {
    let mut total = Pruned::default();
    loop {
        let s = sessions::delete_expired(conn, BATCH).await?;
        let c = challenges(conn, BATCH).await?;
        let t = throttle::prune(conn, window_secs, BATCH).await?;
        let u = usage::prune(conn, BATCH).await?;
        let i = usage::prune_client_ips(conn, BATCH).await?;
        let l = usage::prune_last_use(conn, BATCH).await?;
        let n = notices::prune(conn, BATCH).await?;
        let r = super::rate::prune(conn, BATCH).await?;
        total.sessions += s;
        total.challenges += c;
        total.throttle += t;
        total.usage += u;
        total.client_ips += i;
        total.last_use += l;
        total.notices += n;
        total.rate_windows += r;
        if [s, c, t, u, i, l, n, r].iter().all(|n| (*n as i64) < BATCH) {
            return Ok(total);
        }
    }
}

/// Starts the task on the current tokio runtime.
pub fn start(pool: DbPool, every: Duration, window: Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Ok(mut conn) = pool.get().await else {
                continue; // database unavailable: try again next time
            };
            match run_once(&mut conn, window.as_secs() as i64).await {
                Ok(p) if p != Pruned::default() => tracing::info!(?p, "pruned expired rows"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning failed; will retry"),
            }
        }
    });
}
