//! This instance's side of per-key rate limits. For each limited key it keeps the slice of the
//! current window it leased (`db::rate::lease`, one statement per slice) and spends it in
//! memory, so a verification writes nothing. When the slice is used up it leases the next; when
//! the window's budget is spent everywhere it refuses without asking the database again until
//! the window ends. What it leased and did not use is lost with the window (or with the
//! instance, if it dies): the accepted verifications of all instances together never exceed
//! the limit. Memory holds one small entry per limited key seen, and entries of past windows
//! are dropped once there are many.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

use crate::db::DbPool;
use crate::domain::rate::{slice_for, window_of};
use crate::error::AppError;

/// Entries kept before those of past windows are dropped.
const TIDY_ABOVE: usize = 4_096;

/// A key's limit as a response tells it (`RateLimit-*` headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    /// Requests per window.
    pub limit: i32,
    /// About how many are left in this window (this instance's slice plus what no instance
    /// has leased yet).
    pub remaining: i32,
    /// Seconds until the window ends.
    pub reset_secs: i64,
}

/// Whether one more verification fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Accepted, with what is left.
    Allowed(RateInfo),
    /// Over the limit until the window ends.
    Limited(RateInfo),
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    window: i64,
    /// Left of this instance's slices.
    left: i32,
    /// Not yet leased by any instance, as of the last lease.
    unleased: i32,
    /// The window's budget is spent.
    spent: bool,
}

/// The leases of this instance.
pub struct RateLimiter {
    leases: Mutex<HashMap<Uuid, Lease>>,
    /// One lease statement in flight per key: requests that find the slice used up wait for it
    /// instead of each leasing a slice (which would strand slices on this instance).
    leasing: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
    window_secs: i64,
}

impl RateLimiter {
    /// A limiter counting in windows of `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            leases: Mutex::new(HashMap::new()),
            leasing: Mutex::new(HashMap::new()),
            window_secs: window.as_secs().max(1) as i64,
        }
    }

    /// Takes one verification of `key` (limited to `limit`) at `db_epoch`, the database's clock
    /// in seconds as the verification query read it.
    pub async fn take(
        &self,
        pool: &DbPool,
        key: Uuid,
        limit: i32,
        db_epoch: i64,
    ) -> Result<Take, AppError> {
        let (window, reset_secs) = window_of(db_epoch, self.window_secs);
        let info = |l: &Lease| RateInfo {
            limit,
            remaining: (l.left + l.unleased).clamp(0, limit),
            reset_secs,
        };
        if let Some(done) = self.spend(key, window, limit, info) {
            return Ok(done);
        }
        let gate = {
            let mut leasing = self.leasing.lock().map_err(|_| poisoned())?;
            if leasing.len() > TIDY_ABOVE {
                leasing.retain(|_, g| Arc::strong_count(g) > 1);
            }
            leasing.entry(key).or_default().clone()
        };
        let _leasing = gate.lock().await;
        // another request may have leased while this one waited
        if let Some(done) = self.spend(key, window, limit, info) {
            return Ok(done);
        }
        let (added, granted) = {
            let mut conn = pool.get().await?;
            crate::db::rate::lease(&mut conn, key, window, slice_for(limit), limit).await?
        };
        let mut leases = self.leases.lock().map_err(|_| poisoned())?;
        let l = fresh(&mut leases, key, window, limit);
        l.left += added;
        l.unleased = limit - granted;
        if l.left > 0 {
            l.left -= 1;
            Ok(Take::Allowed(info(l)))
        } else {
            l.spent = true;
            Ok(Take::Limited(info(l)))
        }
    }

    /// Spends from this instance's slice, or says the budget is spent; `None` when a new slice
    /// must be leased.
    fn spend(
        &self,
        key: Uuid,
        window: i64,
        limit: i32,
        info: impl Fn(&Lease) -> RateInfo,
    ) -> Option<Take> {
        let mut leases = self.leases.lock().ok()?;
        if leases.len() > TIDY_ABOVE {
            leases.retain(|_, l| l.window >= window);
        }
        let l = fresh(&mut leases, key, window, limit);
        if l.left > 0 {
            l.left -= 1;
            Some(Take::Allowed(info(l)))
        } else if l.spent {
            Some(Take::Limited(info(l)))
        } else {
            None
        }
    }
}

/// The key's lease for `window`, started afresh when the one held is of another window.
fn fresh(leases: &mut HashMap<Uuid, Lease>, key: Uuid, window: i64, limit: i32) -> &mut Lease {
    let l = leases.entry(key).or_insert(Lease {
        window,
        left: 0,
        unleased: limit,
        spent: false,
    });
    if l.window != window {
        *l = Lease {
            window,
            left: 0,
            unleased: limit,
            spent: false,
        };
    }
    l
}

fn poisoned() -> AppError {
    AppError::Unavailable("rate limiter state is unavailable".into())
}

/// Adds the IETF `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers.
pub fn add_headers(res: &mut actix_web::HttpResponseBuilder, info: &RateInfo) {
    res.insert_header(("RateLimit-Limit", info.limit.to_string()))
        .insert_header(("RateLimit-Remaining", info.remaining.to_string()))
        .insert_header(("RateLimit-Reset", info.reset_secs.to_string()));
}

/// The 429 of a key over its limit: `Retry-After` (the end of the window) and the limit's
/// headers, with `{"error":"too_many_requests","error_code":"rate_limited"}`.
pub fn too_many_requests(info: &RateInfo) -> actix_web::HttpResponse {
    let mut res = actix_web::HttpResponse::TooManyRequests();
    add_headers(&mut res, info);
    res.insert_header((
        actix_web::http::header::RETRY_AFTER,
        info.reset_secs.to_string(),
    ));
    let mut res = res.json(serde_json::json!({
        "error": "too_many_requests",
        "error_code": "rate_limited",
    }));
    // the body is the API's own: the error-page middleware leaves it alone
    res.extensions_mut().insert(crate::templates::Rendered);
    res
}
