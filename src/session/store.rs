//! actix-session's `SessionStore` over the `sessions` table.
//!
//! * Only the SHA-256 of the session id is stored, so a database leak yields no usable cookie.
//! * Idle and absolute timeouts are enforced here, on the server, whatever the cookie says.
//! * Loading a session also extends its idle deadline, but writes at most once per `slack`
//!   (a tenth of the idle timeout, at most a minute), not once per request.
//! * A session that is gone (logged out, expired) stays gone: `update` never re-inserts it, so
//!   a request in flight during a logout cannot hand back a fresh logged-in cookie.
//! * Deadlines are the database's clock (see `db::sessions`).

use std::collections::HashMap;
use std::time::Duration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

use crate::db::{DbPool, sessions};

/// Marker at the start of a store error caused by an unreachable database; the response
/// middleware turns such errors into 503 instead of 500.
pub const DB_UNAVAILABLE: &str = "session store: database unavailable";

/// The Postgres-backed store.
#[derive(Clone)]
pub struct PgSessionStore {
    pool: DbPool,
    idle: Duration,
    absolute: Duration,
}

impl PgSessionStore {
    /// A store with the configured timeouts.
    pub fn new(pool: DbPool, idle: Duration, absolute: Duration) -> Self {
        Self {
            pool,
            idle,
            absolute,
        }
    }

    async fn conn(&self) -> anyhow::Result<crate::db::PooledConn> {
        self.pool
            .get()
            .await
            .map_err(|e| anyhow::anyhow!("{DB_UNAVAILABLE}: {e}"))
    }

    fn slack_secs(&self) -> i64 {
        (self.idle.as_secs() / 10).min(60) as i64
    }

    fn idle_secs(&self) -> i64 {
        self.idle.as_secs() as i64
    }
}

fn hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

fn db_err(e: diesel::result::Error) -> anyhow::Error {
    if crate::db::is_unavailable(&e) {
        anyhow::anyhow!("{DB_UNAVAILABLE}: {e}")
    } else {
        anyhow::anyhow!("session store query failed: {e}")
    }
}

type State = HashMap<String, String>;

impl SessionStore for PgSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let mut conn = self.conn().await.map_err(LoadError::Other)?;
        let state = sessions::load_and_touch(
            &mut conn,
            &hash(session_key.as_ref()),
            self.idle_secs(),
            self.slack_secs(),
        )
        .await
        .map_err(|e| LoadError::Other(db_err(e)))?;
        match state {
            None => Ok(None),
            Some(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(e.into())),
        }
    }

    async fn save(
        &self,
        state: State,
        _ttl: &actix_web::cookie::time::Duration,
    ) -> Result<SessionKey, SaveError> {
        let value = serde_json::to_value(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let key = Alphanumeric.sample_string(&mut rand::rng(), 64);
        let mut conn = self.conn().await.map_err(SaveError::Other)?;
        let absolute = self.absolute.as_secs() as i64;
        sessions::insert(&mut conn, &hash(&key), value, self.idle_secs(), absolute)
            .await
            .map_err(|e| SaveError::Other(db_err(e)))?;
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        state: State,
        _ttl: &actix_web::cookie::time::Duration,
    ) -> Result<SessionKey, UpdateError> {
        let value =
            serde_json::to_value(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let mut conn = self.conn().await.map_err(UpdateError::Other)?;
        let updated = sessions::update_state(
            &mut conn,
            &hash(session_key.as_ref()),
            value,
            self.idle_secs(),
        )
        .await
        .map_err(|e| UpdateError::Other(db_err(e)))?;
        if !updated {
            // The session ended while this request ran (logged out elsewhere, or past a
            // deadline). It stays ended: the cookie keeps naming a row that no longer exists,
            // so the browser is anonymous from its next request on.
            tracing::debug!("session ended during the request; its changes are dropped");
        }
        Ok(session_key)
    }

    async fn update_ttl(
        &self,
        _key: &SessionKey,
        _ttl: &actix_web::cookie::time::Duration,
    ) -> anyhow::Result<()> {
        // `load` already extends the idle deadline.
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        let mut conn = self.conn().await?;
        sessions::delete(&mut conn, &hash(session_key.as_ref()))
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
