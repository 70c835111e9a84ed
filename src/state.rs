//! `AppState`: what handlers reach through `web::Data<AppState>`. A leaf module: it names the
//! parts, and nothing here reaches back into `startup`.

use std::sync::Arc;

use crate::api::last_used::LastUsedRecorder;
use crate::api::rate::RateLimiter;
use crate::api::scanning_keys::ScanningKeys;
use crate::api::usage::UsageRecorder;
use crate::auth::password::Hasher;
use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::KeyHasher;
use crate::metrics::Metrics;
use crate::session::csrf::AnonymousTokens;

/// Shared state every handler can reach.
pub struct AppState {
    /// Database pool.
    pub pool: DbPool,
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// HMAC of presented keys under the pepper, keyed once.
    pub key_hasher: KeyHasher,
    /// Password checks, bounded in concurrency and in queue length.
    pub password_hasher: Hasher,
    /// Buffered "last used" times.
    pub last_used: LastUsedRecorder,
    /// Buffered usage counts.
    pub usage: UsageRecorder,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Signs the login form's CSRF tokens (no session row before login).
    pub anonymous_csrf: AnonymousTokens,
    /// GitHub's secret-scanning public keys (verifies its alerts).
    pub scanning_keys: ScanningKeys,
    /// This instance's leases of per-key rate limits.
    pub rate: RateLimiter,
}
