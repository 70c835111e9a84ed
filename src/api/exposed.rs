//! Exposed keys: GitHub's secret-scanning partner endpoint, and revoke-by-secret for anyone who
//! holds a key. Neither needs an account: the first is authenticated by GitHub's signature
//! over the raw body, the second by holding the secret itself. A secret is hashed the moment
//! it is parsed and never logged; a whole batch is decided by one repository call.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::db::api_keys::{self, ExposureReport, Sighting};
use crate::db::throttle::{self, Admission};
use crate::domain::exposure::{
    GITHUB_TOKEN_TYPE, Label, MAX_SOURCE_CHARS, MAX_URL_CHARS, clip, token_hash,
};
use crate::domain::{PlainKey, RevokeReason};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::Rendered;

/// The largest GitHub alert body read (thousands of tokens fit; beyond it: 413).
pub const MAX_ALERT_BYTES: usize = 1024 * 1024;

/// Keys one revoke-by-secret call may carry (more: 413).
pub const MAX_REVOKE_KEYS: usize = 100;

/// The longest string a revoke-by-secret call may list (a key is 42 characters).
pub const MAX_REVOKE_KEY_CHARS: usize = 128;

/// The largest revoke-by-secret body: 100 strings of 128 characters, even written as JSON
/// escapes, fit.
pub const MAX_REVOKE_BYTES: usize = 256 * 1024;

/// One match GitHub reports.
#[derive(Deserialize)]
struct Alert {
    token: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

/// GitHub's feedback for one reported token.
#[derive(Serialize)]
struct Feedback {
    token_hash: String,
    token_type: &'static str,
    label: &'static str,
}

fn json_error(status: actix_web::http::StatusCode, error: &str, message: &str) -> HttpResponse {
    let mut res = HttpResponse::build(status).json(serde_json::json!({
        "error": error,
        "message": message,
    }));
    // rendered here: the error-page middleware must not replace the body
    res.extensions_mut().insert(Rendered);
    res
}

fn header_value<'a>(req: &'a HttpRequest, name: &str, max: usize) -> Option<&'a str> {
    let mut values = req.headers().get_all(name);
    let v = values.next()?.to_str().ok()?.trim();
    // a repeated header is ambiguous: refuse it rather than guess which one was signed
    (values.next().is_none() && !v.is_empty() && v.len() <= max).then_some(v)
}

/// A parsed secret's hash, or None for anything that is not a well-formed `phy_` key.
fn sighting(
    state: &AppState,
    token: &str,
    url: Option<&str>,
    source: Option<&str>,
) -> Option<Sighting> {
    let key = PlainKey::parse(token).ok()?;
    Some(Sighting {
        hash: state.key_hasher.hash(&key),
        url: url
            .map(|u| clip(u, MAX_URL_CHARS))
            .filter(|u| !u.is_empty()),
        source: source
            .map(|s| clip(s, MAX_SOURCE_CHARS))
            .filter(|s| !s.is_empty()),
    })
}

async fn revoke(
    state: &AppState,
    sightings: &[Sighting],
    reason: RevokeReason,
    via: &'static str,
    req: &HttpRequest,
) -> Result<ExposureReport, AppError> {
    let mut conn = state.pool.get().await?;
    let report = api_keys::revoke_exposed(
        &mut conn,
        sightings,
        reason,
        via,
        &crate::routes::origin(req),
    )
    .await?;
    for k in &report.revoked {
        tracing::warn!(key_id = %k.id, account_id = %k.account_id, prefix = %k.prefix,
            reason = reason.as_str(), via, "key revoked: its secret was exposed");
    }
    Ok(report)
}

/// `POST /api/v1/secret-scanning/github`: GitHub's secret-scanning partner alert. The
/// signature headers are checked before the body is read, the signature over the raw body
/// before it is parsed; then every token that is one of our keys is revoked at once and the
/// answer labels each reported token.
pub async fn github(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    use crate::domain::github_keys::{MAX_KEY_ID_CHARS, MAX_SIGNATURE_CHARS};
    let unauthorized = |why: &str| {
        tracing::warn!(reason = why, "secret-scanning alert refused: bad signature");
        json_error(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "Sign the raw body with a key of GitHub's secret-scanning key document.",
        )
    };
    let key_id = header_value(&req, "github-public-key-identifier", MAX_KEY_ID_CHARS);
    let signature = header_value(&req, "github-public-key-signature", MAX_SIGNATURE_CHARS);
    let (Some(key_id), Some(signature)) = (key_id, signature) else {
        return Ok(unauthorized("missing"));
    };
    let (key_id, signature) = (key_id.to_owned(), signature.to_owned());
    let body = crate::body::read(&req, &mut payload.into_inner()).await?;
    if let Err(e) = state.scanning_keys.verify(&key_id, &signature, &body).await {
        return Ok(unauthorized(e.as_str()));
    }
    let Ok(alerts) = serde_json::from_slice::<Vec<Alert>>(&body) else {
        return Ok(json_error(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be a JSON array of {token, type, url, source}.",
        ));
    };
    let parsed: Vec<Option<Sighting>> = alerts
        .iter()
        .map(|a| sighting(&state, &a.token, a.url.as_deref(), a.source.as_deref()))
        .collect();
    let sightings: Vec<Sighting> = parsed.iter().flatten().cloned().collect();
    let report = revoke(&state, &sightings, RevokeReason::Exposed, "github", &req).await?;
    tracing::info!(
        reported = alerts.len(),
        keys = sightings.len(),
        matched = report.matched.len(),
        revoked = report.revoked.len(),
        "secret-scanning alert handled"
    );
    let feedback: Vec<Feedback> = alerts
        .iter()
        .zip(&parsed)
        .map(|(a, s)| {
            let ours = s
                .as_ref()
                .is_some_and(|s| report.matched.contains(&s.hash.0));
            Feedback {
                token_hash: token_hash(&a.token),
                token_type: GITHUB_TOKEN_TYPE,
                label: if ours {
                    Label::TruePositive
                } else {
                    Label::FalsePositive
                }
                .as_str(),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(feedback))
}

#[derive(Deserialize)]
struct RevokeRequest {
    keys: Vec<String>,
}

/// `POST /api/v1/keys/revoke`: anyone holding keys may revoke them. The answer is the same
/// `202` whether or not any key existed, so it tells nothing about which keys are real, and
/// only once the revocation is committed (else 503 + `Retry-After`: nothing was revoked).
/// Calls are limited per client (an IPv4 address or an IPv6 /64, `client_ip::limit_key`), in
/// Postgres, so every instance counts together.
pub async fn revoke_by_secret(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return Ok(json_error(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_request",
            "Send application/json: {\"keys\": [\"phy_…\"]}.",
        ));
    }
    let ip = crate::client_ip::client_limit_key(&req, &state.settings.trusted_proxies);
    {
        let mut conn = state.pool.get().await.map_err(AppError::from)?;
        let limit = state.settings.scanning.revoke_per_minute;
        if let Admission::Refused { retry_after } = throttle::admit_revoke(&mut conn, &ip, limit)
            .await
            .map_err(AppError::from)?
        {
            let mut res = json_error(
                actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "Too many revoke calls from this address; retry after Retry-After seconds.",
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
            return Ok(res);
        }
    }
    let body = crate::body::read(&req, &mut payload.into_inner()).await?;
    let Ok(request) = serde_json::from_slice::<RevokeRequest>(&body) else {
        return Ok(json_error(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be {\"keys\": [\"phy_…\", …]}.",
        ));
    };
    if request.keys.len() > MAX_REVOKE_KEYS {
        return Ok(json_error(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_keys",
            "At most 100 keys per call.",
        ));
    }
    if request
        .keys
        .iter()
        .any(|k| k.chars().count() > MAX_REVOKE_KEY_CHARS)
    {
        return Ok(json_error(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_request",
            "A key is 42 characters; strings longer than 128 are refused.",
        ));
    }
    let sightings: Vec<Sighting> = request
        .keys
        .iter()
        .filter_map(|k| sighting(&state, k.trim(), None, None))
        .collect();
    // The 202 says the keys are revoked: when the transaction could not commit (even run
    // again, `db::retry`), nothing was, and the caller is told to send the same call again.
    if let Err(e) = revoke(&state, &sightings, RevokeReason::Reported, "public", &req).await {
        let why = format!("revoke-by-secret not committed, nothing revoked: {e}");
        return Err(AppError::Unavailable(why).into());
    }
    Ok(HttpResponse::Accepted().json(serde_json::json!({
        "status": "accepted",
        "message": "Every key in the request that was valid is now revoked.",
    })))
}
