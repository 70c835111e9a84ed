//! The key-authenticated JSON API and RFC 7662 introspection. Keys authenticate only from the
//! `Authorization: Bearer` header; a key in a query string, cookie or body is ignored. (The
//! exposed-key endpoints in `exposed` take secrets in the body to *revoke* them, never to
//! authenticate with them.)

pub mod check;
pub mod exposed;
pub mod last_used;
pub mod rate;
pub mod scanning_keys;
pub mod spend;
pub mod usage;

/// The OpenAPI document of the key API (kept in sync by `tests/api/key_api.rs`).
pub const OPENAPI: &str = include_str!("openapi.json");

/// `GET /api/openapi.json`.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(OPENAPI)
}

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::domain::{AuthFailure, PlainKey, Scope};
use crate::error::AppError;
use crate::metrics::Verified;
use crate::state::AppState;
use crate::templates::Rendered;
use check::{Caller, Checked, VerifyError, verify};

fn bearer_key(req: &HttpRequest) -> Result<PlainKey, AuthFailure> {
    let mut values = req.headers().get_all(header::AUTHORIZATION);
    let Some(value) = values.next() else {
        return Err(AuthFailure::Missing);
    };
    if values.next().is_some() {
        return Err(AuthFailure::Malformed);
    }
    let value = value.to_str().map_err(|_| AuthFailure::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthFailure::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::Malformed);
    }
    PlainKey::parse(token.trim()).map_err(|_| AuthFailure::Malformed)
}

/// The `WWW-Authenticate` challenge (RFC 6750 §3) and JSON body of each refusal, in
/// `AuthFailure::ALL`'s order. They are fixed text, so they are built once and every malformed
/// or unknown key is answered without formatting or allocating anything (the static lends
/// `&'static str`s to `HeaderValue::from_static` and the body).
static REFUSALS: LazyLock<[(String, String); AuthFailure::ALL.len()]> = LazyLock::new(|| {
    AuthFailure::ALL.map(|f| {
        let challenge = if f == AuthFailure::Missing {
            "Bearer realm=\"keydesk\"".to_owned()
        } else {
            format!(
                "Bearer realm=\"keydesk\", error=\"invalid_token\", error_description=\"{}\"",
                f.description()
            )
        };
        // The codes are fixed ASCII words, so the body is written directly.
        let error = if f.is_forbidden() {
            "forbidden"
        } else {
            "invalid_token"
        };
        let body = format!(r#"{{"error":"{error}","error_code":"{}"}}"#, f.as_str());
        (challenge, body)
    })
});

/// The refusal of a presented key: 401 with the RFC 6750 challenge, or 403 when the key is
/// valid but the place it is used from is not (`AuthFailure::is_forbidden`).
pub(crate) fn unauthorized(f: AuthFailure) -> HttpResponse {
    let (challenge, body) = &REFUSALS[f as usize];
    let mut res = if f.is_forbidden() {
        HttpResponse::build(StatusCode::FORBIDDEN)
    } else {
        let mut b = HttpResponse::build(StatusCode::UNAUTHORIZED);
        b.insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge.as_str()),
        ));
        b
    };
    let mut res = res
        .content_type(header::ContentType::json())
        .body(body.as_str());
    res.extensions_mut().insert(Rendered);
    res
}

#[derive(Serialize)]
struct MeKey {
    id: uuid::Uuid,
    name: String,
    prefix: String,
    tail: Option<String>,
    scopes: Vec<&'static str>,
    expires_at: Option<chrono::DateTime<Utc>>,
    /// Accepted requests per window (a minute); null = no limit.
    rate_limit: Option<i32>,
}

#[derive(Serialize)]
struct Me {
    account_id: uuid::Uuid,
    key: MeKey,
}

/// `GET /api/v1/me`: who the presented key belongs to.
pub async fn me(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let key = match bearer_key(&req) {
        Ok(k) => k,
        Err(f) => {
            state.metrics.verification(Verified::Refused(f));
            return Ok(unauthorized(f));
        }
    };
    let caller = Caller::of(&req, &state.settings.trusted_proxies);
    match verify(&state, &key, caller).await {
        Ok(Checked { key: k, rate }) => {
            let mut res = HttpResponse::Ok();
            if let Some(info) = &rate {
                rate::add_headers(&mut res, info);
            }
            // Like GitHub's token-expiration header: clients can warn before their key stops.
            if let Some(t) = k.expires_at {
                let when = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                res.insert_header(("API-Key-Expiration", when));
            }
            Ok(res.json(Me {
                account_id: k.account_id,
                key: MeKey {
                    id: k.id,
                    name: k.name,
                    prefix: k.prefix,
                    tail: k.tail,
                    scopes: k.scopes.iter().map(|s| s.as_str()).collect(),
                    expires_at: k.expires_at,
                    rate_limit: k.rate_limit,
                },
            }))
        }
        Err(VerifyError::Refused(f)) => Ok(unauthorized(f)),
        Err(VerifyError::Limited(info)) => Ok(rate::too_many_requests(&info)),
        Err(VerifyError::Unavailable(e)) => Err(e),
    }
}

/// `400 invalid_request` (RFC 7662 §2.1: `token` is required).
pub(crate) fn invalid_request(description: &str) -> HttpResponse {
    let mut res = HttpResponse::BadRequest().json(serde_json::json!({
        "error": "invalid_request",
        "error_description": description,
    }));
    res.extensions_mut().insert(Rendered);
    res
}

/// `405` with `Allow`, for a method an API route does not declare.
pub fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut res = HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow))
        .json(serde_json::json!({
            "error": "method_not_allowed",
            "message": format!("This endpoint answers {allow} only."),
        }));
    res.extensions_mut().insert(Rendered);
    res
}

/// Whether the caller presents `APP_INTROSPECTION_TOKEN` (compared in constant time): the
/// platform's services, the only callers of introspection and spend.
pub(crate) fn is_platform_service(req: &HttpRequest, state: &AppState) -> bool {
    let expected = state.settings.introspection_token.expose().as_bytes();
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().as_bytes().to_vec())
        .unwrap_or_default();
    !presented.is_empty() && bool::from(presented.ct_eq(expected))
}

/// The client a platform service names in its form (`client_ip`, `user_agent`): bounded, the
/// address kept only when it parses; `Err` is the 400 for a value too long.
// The `Err` is a finished response, built once per refused request: its size does not matter.
#[allow(clippy::result_large_err)]
pub(crate) fn named_client(
    field: &impl Fn(&str) -> Option<String>,
) -> Result<(Option<std::net::IpAddr>, Option<String>), HttpResponse> {
    let (client_ip, user_agent) = (field("client_ip"), field("user_agent"));
    if client_ip.as_ref().is_some_and(|v| v.chars().count() > 64)
        || user_agent
            .as_ref()
            .is_some_and(|v| v.chars().count() > 1024)
    {
        return Err(invalid_request(
            "client_ip takes at most 64 characters and user_agent at most 1024",
        ));
    }
    Ok((client_ip.and_then(|ip| ip.trim().parse().ok()), user_agent))
}

/// `POST /api/v1/introspect` (RFC 7662), for the platform's other services. The caller's token
/// is checked before the body is read, and the body is read under the form deadline.
pub async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    if !is_platform_service(&req, &state) {
        return Ok(unauthorized(AuthFailure::Unknown));
    }
    let is_form = crate::body::is_form(&req);
    if !is_form {
        return Ok(invalid_request(
            "Send the token as application/x-www-form-urlencoded: token=phy_…",
        ));
    }
    let body = crate::body::read(&req, &mut payload.into_inner()).await?;
    // `token` must be present (RFC 7662 §2.1); present but empty or not a key is inactive.
    let field = |name: &str| {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    // The calling service is not the client: it may say who its client was.
    let (ip, user_agent) = match named_client(&field) {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    let caller = Caller {
        ip,
        user_agent: user_agent.as_deref(),
    };
    let Some(token) = field("token") else {
        return Ok(invalid_request("The token parameter is required"));
    };
    // A refusal names its code, so a service can tell its user why; one that only reads
    // `active` stays safe.
    let inactive = |f: AuthFailure| {
        HttpResponse::Ok().json(serde_json::json!({ "active": false, "refusal": f.as_str() }))
    };
    let Ok(key) = PlainKey::parse(token.trim()) else {
        state
            .metrics
            .verification(Verified::Refused(AuthFailure::Malformed));
        return Ok(inactive(AuthFailure::Malformed));
    };
    match verify(&state, &key, caller).await {
        Ok(Checked { key: k, .. }) => {
            let mut body = serde_json::json!({
                "active": true,
                "scope": Scope::joined(&k.scopes, " "),
                "sub": k.account_id,
                "client_id": k.id,
                "token_type": "api_key",
            });
            if let Some(exp) = k.expires_at {
                body["exp"] = serde_json::json!(exp.timestamp());
            }
            Ok(HttpResponse::Ok().json(body))
        }
        Err(VerifyError::Refused(f)) => Ok(inactive(f)),
        Err(VerifyError::Limited(info)) => Ok(HttpResponse::Ok().json(serde_json::json!({
            "active": false,
            "refusal": AuthFailure::RateLimited.as_str(),
            "retry_after": info.reset_secs,
        }))),
        Err(VerifyError::Unavailable(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_body_is_the_json_it_stands_for() {
        for f in AuthFailure::ALL {
            let res = unauthorized(f);
            let (status, error) = if f.is_forbidden() {
                (StatusCode::FORBIDDEN, "forbidden")
            } else {
                (StatusCode::UNAUTHORIZED, "invalid_token")
            };
            assert_eq!(res.status(), status);
            assert_eq!(
                res.headers().contains_key(header::WWW_AUTHENTICATE),
                !f.is_forbidden()
            );
            assert_eq!(
                res.headers().get(header::CONTENT_TYPE).unwrap(),
                "application/json"
            );
            let body = actix_web::body::to_bytes(res.into_body());
            let body = futures_util::FutureExt::now_or_never(body)
                .unwrap()
                .unwrap();
            let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                parsed,
                serde_json::json!({ "error": error, "error_code": f.as_str() })
            );
            let challenge = &REFUSALS[f as usize].0;
            assert!(challenge.starts_with("Bearer realm=\"keydesk\""));
            assert_eq!(
                challenge.contains(f.description()),
                f != AuthFailure::Missing,
                "{challenge}"
            );
        }
    }
}
