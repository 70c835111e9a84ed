//! Database access: the pool, embedded migrations, and one repository module per table.
//!
//! Repository functions take `&mut AsyncPgConnection` and name their scope
//! (`list_for_account`, `find_for_account`); every API-key query filters by owner.

pub mod api_keys;
pub mod audit;
pub mod enums;
pub mod export;
pub mod notices;
pub mod pool;
pub mod prune;
pub mod rate;
pub mod retry;
pub mod schema;
pub mod sessions;
pub mod spend;
pub mod throttle;
pub mod usage;
pub mod users;
pub mod wallets;

use diesel::Connection;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use pool::{DbPool, PooledConn};

diesel::define_sql_function! {
    /// SQL `lower(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Every migration under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Applies pending migrations on a dedicated connection, off the async workers.
pub async fn run_migrations(database_url: &str) -> anyhow::Result<Vec<String>> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(|e| anyhow::anyhow!("connecting to the database: {e}"))?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("applying migrations: {e}"))?;
        Ok(applied.iter().map(|v| v.to_string()).collect())
    })
    .await?
}

/// Reverts every migration, newest first (used by the reversibility test).
pub async fn revert_all_migrations(database_url: &str) -> anyhow::Result<usize> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(|e| anyhow::anyhow!("connecting to the database: {e}"))?;
        let reverted = conn
            .revert_all_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("reverting migrations: {e}"))?;
        Ok(reverted.len())
    })
    .await?
}

/// True when a query failed because the database is unreachable rather than because of the
/// query: these become 503, never 401 or 500.
pub fn is_unavailable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let m = info.message().to_ascii_lowercase();
            m.contains("connection") || m.contains("shutting down") || m.contains("terminating")
        }
        Error::BrokenTransactionManager => true,
        _ => false,
    }
}

/// The database's clock: the one clock every instance shares. A request that needs "now" to
/// set or judge a deadline reads it here once (or compares with `now()` in SQL).
pub async fn now(
    conn: &mut AsyncPgConnection,
) -> diesel::QueryResult<chrono::DateTime<chrono::Utc>> {
    use diesel_async::RunQueryDsl;
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamptz>("now()"))
        .get_result(conn)
        .await
}
