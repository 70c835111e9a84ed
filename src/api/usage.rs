//! Usage, recorded without a database write per request: each verification of a known key adds
//! one to an in-memory count per (key, hour, outcome) and per (key, client address); a
//! background task adds the counts to the database every `APP_USAGE_FLUSH_MS` in two batched
//! statements (`db::usage`), and once more at shutdown. Instances each add their own counts,
//! so the sums are right however many run.
//!
//! Memory is bounded: at most `max_entries` distinct entries wait between flushes. A request
//! that would need a new entry beyond that starts a flush early and is not counted; every such
//! miss is counted in `keydesk_usage_dropped_total`, so a loss is visible, never silent.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::db::DbPool;
use crate::db::usage::{self, Seen};
use crate::domain::usage::{Outcome, hour_of};
use crate::metrics::Metrics;

const BATCH: usize = 1_000;

/// One key's requests from one address between two flushes.
#[derive(Debug, Clone)]
struct Sighting {
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    requests: i64,
    /// Of them, refused (any reason).
    refused: i64,
    /// Of them, accepted from outside the allow list in dry-run.
    outside: i64,
    /// The latest user agent.
    user_agent: Option<Box<str>>,
}

impl Sighting {
    fn merge(&mut self, other: Sighting) {
        self.first = self.first.min(other.first);
        if other.last >= self.last {
            self.last = other.last;
            if other.user_agent.is_some() {
                self.user_agent = other.user_agent;
            }
        }
        self.requests += other.requests;
        self.refused += other.refused;
        self.outside += other.outside;
    }
}

/// How one verification ended, as usage counts it.
#[derive(Debug, Clone, Copy)]
pub struct Use<'a> {
    /// Accepted, or why not.
    pub outcome: Outcome,
    /// The client address, when known.
    pub ip: Option<IpAddr>,
    /// The client's user agent, when known.
    pub user_agent: Option<&'a str>,
    /// Accepted from outside the key's allow list in dry-run ("would have been refused").
    pub outside: bool,
}

/// User agents are kept this long per address (the same cut as "last used").
const USER_AGENT_MAX: usize = 256;

#[derive(Default)]
struct Pending {
    hourly: HashMap<(Uuid, DateTime<Utc>, Outcome), i64>,
    ips: HashMap<(Uuid, IpAddr), Sighting>,
}

impl Pending {
    fn len(&self) -> usize {
        self.hourly.len() + self.ips.len()
    }
}

struct Inner {
    pending: Mutex<Pending>,
    /// Held for a whole flush, so a flush waits for one already under way.
    flushing: tokio::sync::Mutex<()>,
    wake: Notify,
    pool: DbPool,
    enabled: bool,
    max_entries: usize,
    dropped: AtomicU64,
    metrics: Arc<Metrics>,
}

/// Handle to the usage buffer; cheap to clone.
#[derive(Clone)]
pub struct UsageRecorder(Arc<Inner>);

impl UsageRecorder {
    /// Starts the background flusher on the current tokio runtime.
    pub fn start(
        pool: DbPool,
        every: Duration,
        enabled: bool,
        max_entries: usize,
        metrics: Arc<Metrics>,
    ) -> Self {
        let rec = Self(Arc::new(Inner {
            pending: Mutex::new(Pending::default()),
            flushing: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            pool,
            enabled,
            max_entries,
            dropped: AtomicU64::new(0),
            metrics,
        }));
        let bg = rec.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {},
                    _ = bg.0.wake.notified() => {},
                }
                bg.flush_now().await;
            }
        });
        rec
    }

    /// Counts one verification of `key` (`u`: its outcome and client).
    pub fn record(&self, key: Uuid, u: Use<'_>) {
        if !self.0.enabled {
            return;
        }
        let now = Utc::now();
        let Ok(mut p) = self.0.pending.lock() else {
            return;
        };
        let full = p.len() >= self.0.max_entries;
        let mut missed = 0;
        match p.hourly.get_mut(&(key, hour_of(now), u.outcome)) {
            Some(n) => *n += 1,
            None if !full => {
                p.hourly.insert((key, hour_of(now), u.outcome), 1);
            }
            None => missed += 1,
        }
        if let Some(ip) = u.ip {
            let full = p.len() >= self.0.max_entries;
            let refused = i64::from(u.outcome != Outcome::Ok);
            let outside = i64::from(u.outside);
            match p.ips.get_mut(&(key, ip)) {
                Some(seen) => {
                    seen.last = now;
                    seen.requests += 1;
                    seen.refused += refused;
                    seen.outside += outside;
                    if let Some(ua) = u.user_agent
                        && seen.user_agent.as_deref() != Some(ua)
                    {
                        seen.user_agent = Some(cut(ua));
                    }
                }
                None if !full => {
                    let seen = Sighting {
                        first: now,
                        last: now,
                        requests: 1,
                        refused,
                        outside,
                        user_agent: u.user_agent.map(cut),
                    };
                    p.ips.insert((key, ip), seen);
                }
                None => missed += 1,
            }
        }
        drop(p);
        if missed > 0 {
            self.0.dropped.fetch_add(missed, Ordering::Relaxed);
            self.0.metrics.usage_dropped(missed);
            self.0.wake.notify_one();
        }
    }

    /// Adds everything buffered to the database. On a database error the counts go back into
    /// the buffer (merged with what arrived meanwhile) for the next flush. A flush already under
    /// way (the timer's) is waited for first, so when this returns every count recorded before
    /// the call has been written or put back: the shutdown flush and the tests rely on that.
    pub async fn flush_now(&self) {
        let _flushing = self.0.flushing.lock().await;
        let batch = match self.0.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return,
        };
        if batch.len() == 0 {
            return;
        }
        let started = Instant::now();
        let hourly: Vec<(Uuid, DateTime<Utc>, Outcome, i64)> = batch
            .hourly
            .iter()
            .map(|(&(k, h, o), &n)| (k, h, o, n))
            .collect();
        let seen: Vec<Seen> = batch
            .ips
            .iter()
            .map(|(&(key_id, ip), sighting)| Seen {
                key_id,
                ip: ip.to_string(),
                first: sighting.first,
                last: sighting.last,
                requests: sighting.requests,
                refused: sighting.refused,
                outside: sighting.outside,
                user_agent: sighting.user_agent.as_deref().map(str::to_owned),
            })
            .collect();
        let written = match self.0.pool.get().await {
            Ok(mut conn) => {
                let mut ok = true;
                for chunk in hourly.chunks(BATCH) {
                    ok &= usage::add_hourly(&mut conn, chunk)
                        .await
                        .map_err(warn)
                        .is_ok();
                }
                for chunk in seen.chunks(BATCH) {
                    ok &= usage::add_client_ips(&mut conn, chunk)
                        .await
                        .map_err(warn)
                        .is_ok();
                }
                ok
            }
            Err(e) => {
                tracing::warn!(error = %e, "usage flush: database unavailable; will retry");
                false
            }
        };
        self.0.metrics.usage_flush_took(started.elapsed());
        if !written {
            // Put the whole batch back: a chunk that did land would be added twice, but a
            // partial failure on one connection is rare and over-counting beats losing.
            self.restore(batch);
        }
    }

    fn restore(&self, batch: Pending) {
        let Ok(mut p) = self.0.pending.lock() else {
            return;
        };
        for (k, n) in batch.hourly {
            *p.hourly.entry(k).or_insert(0) += n;
        }
        for (k, sighting) in batch.ips {
            match p.ips.get_mut(&k) {
                Some(e) => e.merge(sighting),
                None => {
                    p.ips.insert(k, sighting);
                }
            }
        }
    }

    /// Entries waiting to be written.
    pub fn pending(&self) -> usize {
        self.0.pending.lock().map(|p| p.len()).unwrap_or(0)
    }

    /// Counts missed because the buffer was full (since start).
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }
}

fn cut(ua: &str) -> Box<str> {
    match ua.char_indices().nth(USER_AGENT_MAX) {
        Some((i, _)) => ua[..i].into(),
        None => ua.into(),
    }
}

fn warn(e: diesel::result::Error) {
    tracing::warn!(error = %e, "usage flush failed; will retry");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(ip: Option<IpAddr>) -> Use<'static> {
        Use {
            outcome: Outcome::Ok,
            ip,
            user_agent: Some("bot/1"),
            outside: false,
        }
    }

    #[tokio::test]
    async fn the_buffer_is_bounded_and_overflow_is_counted() {
        // a pool that points nowhere: flushes fail and put the counts back
        let pool = crate::db::pool::build(
            "postgres://nobody:x@127.0.0.1:1/none",
            1,
            Duration::from_millis(100),
        )
        .unwrap();
        let metrics = Arc::new(Metrics::new().unwrap());
        let rec = UsageRecorder::start(pool, Duration::from_secs(3600), true, 10, metrics);
        let key = Uuid::new_v4();
        for i in 0..1000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            rec.record(key, ok(Some(ip)));
        }
        assert!(rec.pending() <= 10, "{}", rec.pending());
        assert!(rec.dropped() >= 990, "{}", rec.dropped());
        // known entries keep counting even when the buffer is full
        let before = rec.dropped();
        rec.record(key, ok(None));
        assert_eq!(rec.dropped(), before);
    }
}
