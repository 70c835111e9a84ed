//! The key check every key-authenticated endpoint shares: hash the presented key, read its
//! facts in one indexed query (`db::api_keys::verify`), let `domain::key_check::decide` judge
//! them, take one from the key's rate limit (`api::rate`, in memory but for one lease per
//! slice), and count the outcome (usage, "last used", metrics). `/api/v1/me` and introspection
//! only translate the verdict into their protocol; a new bound goes into `decide` (and, when it
//! needs facts, into the one query), never into an endpoint.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::api::rate::{RateInfo, Take};
use crate::api::usage::Use;
use crate::db::api_keys::{self, KeyAuth};
use crate::domain::key_check::decide;
use crate::domain::network::Placement;
use crate::domain::usage::Outcome;
use crate::domain::{AuthFailure, PlainKey};
use crate::error::AppError;
use crate::metrics::Verified;
use crate::state::AppState;

/// A failed verification: a refusal, or the database being unreachable (never a refusal).
#[derive(Debug)]
pub enum VerifyError {
    /// 401 (403 for the network binding's refusals).
    Refused(AuthFailure),
    /// 429: over the key's rate limit until the window ends.
    Limited(RateInfo),
    /// 503.
    Unavailable(AppError),
}

/// An accepted key, with its rate limit's state when it has one.
#[derive(Debug)]
pub struct Checked {
    /// What the verification query read.
    pub key: KeyAuth,
    /// The limit, what is left and when the window ends (`RateLimit-*` headers).
    pub rate: Option<RateInfo>,
}

/// Who presented a key: recorded with its use (the last use, and where a key is used from).
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller<'a> {
    /// The client address, when known.
    pub ip: Option<IpAddr>,
    /// The client's user agent, when known.
    pub user_agent: Option<&'a str>,
}

impl<'a> Caller<'a> {
    /// The client of a request: its address (see `client_ip`) and `User-Agent`.
    pub fn of(req: &'a HttpRequest, trusted_proxies: &[ipnet::IpNet]) -> Self {
        Self {
            ip: crate::client_ip::client_ip(req, trusted_proxies),
            user_agent: req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok()),
        }
    }
}

/// Decides about a parsed key with one indexed query: no cache, so a revoke or an expiry
/// takes effect on the very next request, on every instance. A key whose hash matched is
/// counted in its usage, accepted or not.
pub async fn verify(
    state: &AppState,
    key: &PlainKey,
    caller: Caller<'_>,
) -> Result<Checked, VerifyError> {
    let started = std::time::Instant::now();
    let result = verify_uncounted(state, key, caller).await;
    state.metrics.verification_took(started.elapsed());
    state.metrics.verification(match &result {
        Ok(_) => Verified::Ok,
        Err(VerifyError::Refused(f)) => Verified::Refused(*f),
        Err(VerifyError::Limited(_)) => Verified::Refused(AuthFailure::RateLimited),
        Err(VerifyError::Unavailable(_)) => Verified::Unavailable,
    });
    result
}

async fn verify_uncounted(
    state: &AppState,
    key: &PlainKey,
    caller: Caller<'_>,
) -> Result<Checked, VerifyError> {
    let hash = state.key_hasher.hash(key);
    let mut conn = state
        .pool
        .get()
        .await
        .map_err(|e| VerifyError::Unavailable(e.into()))?;
    let found = api_keys::find_by_hash(&mut conn, &hash)
        .await
        .map_err(|e| VerifyError::Unavailable(e.into()))?;
    drop(conn);
    let Some(k) = found else {
        return Err(VerifyError::Refused(AuthFailure::Unknown));
    };
    let mut verdict = decide(&k.facts(), &k.binding(), caller.ip);
    // The rate limit counts accepted verifications only, so it is taken last.
    let mut rate = None;
    if let (Ok(_), Some(limit)) = (&verdict, k.rate_limit) {
        let epoch = k.db_now.and_utc().timestamp();
        match state.rate.take(&state.pool, k.id, limit, epoch).await {
            Ok(Take::Allowed(info)) => rate = Some(info),
            Ok(Take::Limited(info)) => {
                rate = Some(info);
                verdict = Err(AuthFailure::RateLimited);
            }
            Err(e) => return Err(VerifyError::Unavailable(e)),
        }
    }
    let (outcome, outside) = match verdict {
        Ok(placement) => (Some(Outcome::Ok), placement == Placement::Outside),
        Err(f) => (Outcome::of_refusal(f), false),
    };
    if let Some(outcome) = outcome {
        let ip = caller.ip;
        let user_agent = caller.user_agent;
        state.usage.record(
            k.id,
            Use {
                outcome,
                ip,
                user_agent,
                outside,
            },
        );
    }
    match (verdict, rate) {
        (Ok(_), rate) => {
            state.last_used.record(k.id, caller.ip, caller.user_agent);
            Ok(Checked { key: k, rate })
        }
        (Err(AuthFailure::RateLimited), Some(info)) => Err(VerifyError::Limited(info)),
        (Err(f), _) => Err(VerifyError::Refused(f)),
    }
}
