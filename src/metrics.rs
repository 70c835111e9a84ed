//! Prometheus metrics, served on a separate listener (`APP_METRICS_LISTEN`) so they are never
//! reachable through the public port: requests by route and status, key verifications by
//! outcome, the age of the oldest unflushed "last used" time, and the pool's state.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{HttpResponse, web};

use crate::startup::AppState;

/// Outcomes of a key verification, in exposition order.
pub const OUTCOMES: [&str; 7] = [
    "ok",
    "missing",
    "malformed",
    "unknown",
    "revoked",
    "expired",
    "account_not_eligible",
];

/// The counters.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<HashMap<(String, actix_web::http::Method, u16), u64>>,
    verifications: [AtomicU64; 7],
    unavailable: AtomicU64,
}

impl Metrics {
    /// Counts a finished request by route pattern (never the raw path: ids would explode the
    /// label set), method and status.
    /// The route arrives owned (actix builds the pattern string anyway), so counting costs no
    /// further allocation once a (route, method, status) has been seen.
    pub fn request(&self, route: String, method: &actix_web::http::Method, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route, method.clone(), status)).or_insert(0) += 1;
        }
    }

    /// Counts a key verification outcome (one of `OUTCOMES`).
    pub fn verification(&self, outcome: &str) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            self.verifications[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a verification that could not be decided (database unavailable).
    pub fn verification_unavailable(&self) {
        self.unavailable.fetch_add(1, Ordering::Relaxed);
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics` on the metrics listener.
pub async fn expose(state: web::Data<AppState>) -> HttpResponse {
    let m = &state.metrics;
    let mut out = String::new();
    out.push_str(
        "# HELP keydesk_http_requests_total HTTP requests by route pattern, method and status.\n",
    );
    out.push_str("# TYPE keydesk_http_requests_total counter\n");
    if let Ok(map) = m.requests.lock() {
        let mut rows: Vec<_> = map.iter().collect();
        rows.sort_by(|a, b| (&a.0.0, a.0.1.as_str(), a.0.2).cmp(&(&b.0.0, b.0.1.as_str(), b.0.2)));
        for ((route, method, status), n) in rows {
            let _ = writeln!(
                out,
                "keydesk_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                escape(route),
                escape(method.as_str())
            );
        }
    }
    out.push_str("# HELP keydesk_key_verifications_total API-key verifications by outcome.\n");
    out.push_str("# TYPE keydesk_key_verifications_total counter\n");
    for (i, o) in OUTCOMES.iter().enumerate() {
        let _ = writeln!(
            out,
            "keydesk_key_verifications_total{{outcome=\"{o}\"}} {}",
            m.verifications[i].load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "keydesk_key_verifications_total{{outcome=\"unavailable\"}} {}",
        m.unavailable.load(Ordering::Relaxed)
    );
    out.push_str("# HELP keydesk_last_used_flush_lag_seconds Age of the oldest last-used time not yet written.\n");
    out.push_str("# TYPE keydesk_last_used_flush_lag_seconds gauge\n");
    let _ = writeln!(
        out,
        "keydesk_last_used_flush_lag_seconds {:.3}",
        state.last_used.oldest_pending_age_secs()
    );
    out.push_str(
        "# HELP keydesk_last_used_pending Keys with a last-used time waiting to be written.\n",
    );
    out.push_str("# TYPE keydesk_last_used_pending gauge\n");
    let _ = writeln!(
        out,
        "keydesk_last_used_pending {}",
        state.last_used.pending()
    );
    let status = state.pool.status();
    out.push_str("# HELP keydesk_db_pool_connections Database connections by state.\n");
    out.push_str("# TYPE keydesk_db_pool_connections gauge\n");
    let _ = writeln!(
        out,
        "keydesk_db_pool_connections{{state=\"in_use\"}} {}",
        status.size.saturating_sub(status.available)
    );
    let _ = writeln!(
        out,
        "keydesk_db_pool_connections{{state=\"idle\"}} {}",
        status.available
    );
    let _ = writeln!(
        out,
        "keydesk_db_pool_connections{{state=\"max\"}} {}",
        status.max_size
    );
    out.push_str("# HELP keydesk_db_pool_waiting Requests waiting for a database connection.\n");
    out.push_str("# TYPE keydesk_db_pool_waiting gauge\n");
    let _ = writeln!(out, "keydesk_db_pool_waiting {}", status.waiting);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}
