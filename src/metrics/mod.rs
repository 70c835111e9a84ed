//! Prometheus metrics (the `prometheus` crate), served on a separate listener
//! (`APP_METRICS_LISTEN`) so they are never reachable through the public port: requests and
//! their latency by route pattern, method and status; key verifications by outcome and their
//! latency; the age of the oldest unflushed "last used" time; the pool's state.
//!
//! Every label set is fixed or comes from configuration, never from the client: the route is
//! the matched pattern (or `unmatched`), the method one of the standard ones (or `other`), the
//! status one of the codes keydesk answers with (or `other`). A client sending junk methods or
//! paths cannot grow the registry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::db::DbPool;
use crate::domain::AuthFailure;
use crate::domain::notice::Channel;

/// How a key verification ended, for its counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The key was accepted.
    Ok,
    /// The key was refused.
    Refused(AuthFailure),
    /// The database could not be asked.
    Unavailable,
}

impl Verified {
    /// Its place in `OUTCOMES`: `ok`, then the refusals in `AuthFailure::ALL`'s order, then
    /// `unavailable` (a unit test pins the two lists together).
    fn index(self) -> usize {
        match self {
            Verified::Ok => 0,
            Verified::Refused(f) => 1 + f as usize,
            Verified::Unavailable => OUTCOMES.len() - 1,
        }
    }
}

/// Outcomes of a key verification, in exposition order (the labels of `Verified`).
pub const OUTCOMES: [&str; 12] = [
    "ok",
    "missing",
    "malformed",
    "unknown",
    "revoked",
    "expired",
    "account_not_eligible",
    "paused",
    "ip_not_allowed",
    "client_ip_required",
    "rate_limited",
    "unavailable",
];

/// Latency buckets in seconds: verification sits in the first few, page renders further up.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

mod requests;

pub use requests::{method_label, status_label};

/// The registry and its metrics (one per application, so tests can run many side by side).
pub struct Metrics {
    /// Tells this registry apart from others in the process (see `requests::Resolved`).
    id: u64,
    registry: Registry,
    requests: IntCounterVec,
    request_seconds: HistogramVec,
    verifications: [IntCounter; OUTCOMES.len()],
    verification_seconds: Histogram,
    last_used_lag: Gauge,
    last_used_pending: IntGauge,
    pool: IntGaugeVec,
    pool_waiting: IntGauge,
    usage_pending: IntGauge,
    usage_flush_seconds: Histogram,
    usage_dropped: IntCounter,
    notice_deliveries: IntCounterVec,
    notice_queue: IntGaugeVec,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(
    r: &Registry,
    m: prometheus::Result<T>,
) -> prometheus::Result<T> {
    let m = m?;
    r.register(Box::new(m.clone()))?;
    Ok(m)
}

impl Metrics {
    /// A registry with every metric registered (fails only on a programming error: a bad or
    /// repeated name).
    pub fn new() -> prometheus::Result<Self> {
        let r = Registry::new();
        let requests = register(
            &r,
            IntCounterVec::new(
                Opts::new(
                    "keydesk_http_requests_total",
                    "HTTP requests by route pattern, method and status.",
                ),
                &["route", "method", "status"],
            ),
        )?;
        let request_seconds = register(
            &r,
            HistogramVec::new(
                HistogramOpts::new(
                    "keydesk_http_request_duration_seconds",
                    "Time to answer a request, by route pattern.",
                )
                .buckets(BUCKETS.to_vec()),
                &["route"],
            ),
        )?;
        let by_outcome = register(
            &r,
            IntCounterVec::new(
                Opts::new(
                    "keydesk_key_verifications_total",
                    "API-key verifications by outcome.",
                ),
                &["outcome"],
            ),
        )?;
        let verifications = OUTCOMES.map(|o| by_outcome.with_label_values(&[o]));
        let verification_seconds = register(
            &r,
            Histogram::with_opts(
                HistogramOpts::new(
                    "keydesk_key_verification_duration_seconds",
                    "Time to decide about a presented key (hash, lookup, rules).",
                )
                .buckets(BUCKETS.to_vec()),
            ),
        )?;
        let last_used_lag = register(
            &r,
            Gauge::new(
                "keydesk_last_used_flush_lag_seconds",
                "Age of the oldest last-used time not yet written.",
            ),
        )?;
        let last_used_pending = register(
            &r,
            IntGauge::new(
                "keydesk_last_used_pending",
                "Keys with a last-used time waiting to be written.",
            ),
        )?;
        let pool = register(
            &r,
            IntGaugeVec::new(
                Opts::new(
                    "keydesk_db_pool_connections",
                    "Database connections by state.",
                ),
                &["state"],
            ),
        )?;
        let pool_waiting = register(
            &r,
            IntGauge::new(
                "keydesk_db_pool_waiting",
                "Requests waiting for a database connection.",
            ),
        )?;
        let usage_pending = register(
            &r,
            IntGauge::new(
                "keydesk_usage_pending",
                "Usage entries (key, hour, outcome or key, client address) waiting to be written.",
            ),
        )?;
        let usage_flush_seconds = register(
            &r,
            Histogram::with_opts(
                HistogramOpts::new(
                    "keydesk_usage_flush_duration_seconds",
                    "Time to add one flush of usage counts to the database.",
                )
                .buckets(BUCKETS.to_vec()),
            ),
        )?;
        let usage_dropped = register(
            &r,
            IntCounter::new(
                "keydesk_usage_dropped_total",
                "Usage counts not recorded because the buffer was full.",
            ),
        )?;
        let notice_deliveries = register(
            &r,
            IntCounterVec::new(
                Opts::new(
                    "keydesk_notice_deliveries_total",
                    "Notice delivery attempts by channel and result (delivered, retry, failed, skipped).",
                ),
                &["channel", "result"],
            ),
        )?;
        let notice_queue = register(
            &r,
            IntGaugeVec::new(
                Opts::new(
                    "keydesk_notice_queue_depth",
                    "Pending notice deliveries by channel (read about once a minute).",
                ),
                &["channel"],
            ),
        )?;
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Ok(Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            registry: r,
            notice_deliveries,
            notice_queue,
            usage_pending,
            usage_flush_seconds,
            usage_dropped,
            requests,
            request_seconds,
            verifications,
            verification_seconds,
            last_used_lag,
            last_used_pending,
            pool,
            pool_waiting,
        })
    }

    /// Counts a key verification outcome.
    pub fn verification(&self, outcome: Verified) {
        self.verifications[outcome.index()].inc();
    }

    /// Observes how long a verification took.
    pub fn verification_took(&self, took: Duration) {
        self.verification_seconds.observe(took.as_secs_f64());
    }

    /// Counts usage entries the full buffer could not take.
    pub fn usage_dropped(&self, n: u64) {
        self.usage_dropped.inc_by(n);
    }

    /// Counts a notice delivery attempt by channel and result (`delivered`, `retry`, `failed`,
    /// `skipped`); in-app notices and other results are not counted.
    pub fn notice_delivery(&self, channel: Channel, result: &'static str) {
        if channel != Channel::InApp
            && matches!(result, "delivered" | "retry" | "failed" | "skipped")
        {
            self.notice_deliveries
                .with_label_values(&[channel.as_str(), result])
                .inc();
        }
    }

    /// Sets the pending deliveries of a channel.
    pub fn notice_queue(&self, channel: Channel, n: i64) {
        if channel != Channel::InApp {
            self.notice_queue
                .with_label_values(&[channel.as_str()])
                .set(n);
        }
    }

    /// Observes one usage flush.
    pub fn usage_flush_took(&self, took: Duration) {
        self.usage_flush_seconds.observe(took.as_secs_f64());
    }

    /// The text exposition, with the gauges read now (`buffers`: the recorders' levels).
    pub fn render(&self, pool: &DbPool, buffers: Buffers) -> String {
        self.usage_pending.set(buffers.usage_pending as i64);
        self.last_used_lag.set(buffers.last_used_lag_secs);
        self.last_used_pending.set(buffers.last_used_pending as i64);
        let status = pool.status();
        let size = status.size as i64;
        let available = status.available as i64;
        self.pool
            .with_label_values(&["in_use"])
            .set(size - available);
        self.pool.with_label_values(&["idle"]).set(available);
        self.pool
            .with_label_values(&["max"])
            .set(status.max_size as i64);
        self.pool_waiting.set(status.waiting as i64);
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// How full the in-memory recorders are at a scrape (read by the caller, so this module needs
/// nothing of theirs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Buffers {
    /// Usage entries waiting for the next flush.
    pub usage_pending: usize,
    /// "Last used" times waiting for the next flush.
    pub last_used_pending: usize,
    /// Age of the oldest of those, in seconds.
    pub last_used_lag_secs: f64,
}
