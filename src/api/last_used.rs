//! "Last used", recorded without a database write per request: verifications put the key id,
//! time, client address and user agent into an in-memory map (the newest use per key wins),
//! and a background task writes the map every few seconds with one forward-only batched
//! `UPDATE`. Flushed again on shutdown.
//!
//! Memory is bounded: at most `MAX_PENDING` distinct keys wait between flushes; beyond that a
//! flush is started early and further new keys are skipped until it has run (their time is
//! approximate anyway, and the next request records them).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::db::{DbPool, api_keys};

/// Distinct keys buffered at most between two flushes.
pub const MAX_PENDING: usize = 50_000;

/// Characters of a user agent kept.
pub const USER_AGENT_MAX: usize = 256;

pub use crate::domain::usage::LastUse;

const BATCH: usize = 1_000;

/// Handle to the buffer; cheap to clone.
#[derive(Clone)]
pub struct LastUsedRecorder {
    pending: Arc<Mutex<HashMap<Uuid, LastUse>>>,
    /// Held for a whole flush, so a flush waits for one already under way.
    flushing: Arc<tokio::sync::Mutex<()>>,
    wake: Arc<Notify>,
    pool: DbPool,
    enabled: bool,
}

impl LastUsedRecorder {
    /// Starts the background flusher on the current tokio runtime.
    pub fn start(pool: DbPool, every: Duration, enabled: bool) -> Self {
        let rec = Self {
            pending: Arc::new(Mutex::new(HashMap::new())),
            flushing: Arc::new(tokio::sync::Mutex::new(())),
            wake: Arc::new(Notify::new()),
            pool,
            enabled,
        };
        let bg = rec.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {},
                    _ = bg.wake.notified() => {},
                }
                bg.flush_now().await;
            }
        });
        rec
    }

    /// Notes that `key` was used now, from `client_ip` with `user_agent` (cut to
    /// `USER_AGENT_MAX` characters) when known.
    pub fn record(&self, key: Uuid, client_ip: Option<IpAddr>, user_agent: Option<&str>) {
        if !self.enabled {
            return;
        }
        let now = Utc::now();
        let Ok(mut map) = self.pending.lock() else {
            return;
        };
        if map.len() >= MAX_PENDING && !map.contains_key(&key) {
            self.wake.notify_one();
            return;
        }
        let user_agent = user_agent.map(|ua| ua.chars().take(USER_AGENT_MAX).collect());
        map.insert(
            key,
            LastUse {
                at: now,
                client_ip: client_ip.map(|ip| ip.to_string()),
                user_agent,
            },
        );
    }

    /// Writes everything buffered. On a database error the times go back into the buffer. A
    /// flush already under way (the timer's) is waited for first, so when this returns every
    /// time recorded before the call has been written or put back.
    pub async fn flush_now(&self) {
        let _flushing = self.flushing.lock().await;
        let batch: Vec<(Uuid, LastUse)> = match self.pending.lock() {
            Ok(mut map) => map.drain().collect(),
            Err(_) => return,
        };
        if batch.is_empty() {
            return;
        }
        let failed = match self.pool.get().await {
            Ok(mut conn) => {
                let mut failed = Vec::new();
                for chunk in batch.chunks(BATCH) {
                    if let Err(e) = api_keys::record_last_used(&mut conn, chunk).await {
                        tracing::warn!(error = %e, keys = chunk.len(), "last-used flush failed; will retry");
                        failed.extend_from_slice(chunk);
                    }
                }
                failed
            }
            Err(e) => {
                tracing::warn!(error = %e, keys = batch.len(), "last-used flush: database unavailable; will retry");
                batch
            }
        };
        if !failed.is_empty()
            && let Ok(mut map) = self.pending.lock()
        {
            for (id, used) in failed {
                let e = map.entry(id).or_insert_with(|| used.clone());
                if e.at < used.at {
                    *e = used;
                }
            }
        }
    }

    /// Seconds since the oldest time still waiting to be written (0 when none wait).
    pub fn oldest_pending_age_secs(&self) -> f64 {
        let oldest = self
            .pending
            .lock()
            .ok()
            .and_then(|m| m.values().map(|u| u.at).min());
        oldest.map_or(0.0, |t| {
            (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
        })
    }

    /// Keys waiting to be written (for tests and metrics).
    pub fn pending(&self) -> usize {
        self.pending.lock().map(|m| m.len()).unwrap_or(0)
    }
}
