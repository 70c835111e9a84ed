//! The connection pool: diesel-async over deadpool, with short timeouts that become 503.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};

/// The pool type shared by every worker.
pub type DbPool = Pool<AsyncPgConnection>;
/// A checked-out connection.
pub type PooledConn = Object<AsyncPgConnection>;

/// Builds the pool. It connects lazily, so keydesk starts (and answers 503) while the database
/// is down, and becomes ready when it appears.
pub fn build(database_url: &str, size: usize, timeout: Duration) -> anyhow::Result<DbPool> {
    let mut config = ManagerConfig::default();
    // `Fast` skips a `SELECT 1` per checkout; a connection that broke is detected by its first
    // failing query (answered 503) and discarded by the pool.
    config.recycling_method = RecyclingMethod::Fast;
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| anyhow::anyhow!("building the database pool: {e}"))
}
