//! The SPEC §8 headers, set on every response (error pages included).

use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// The Content-Security-Policy of every response (no inline script or style anywhere).
pub const CSP: &str = "default-src 'self'; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'none'; form-action 'self'";

/// Two years, subdomains included: sent only when `APP_PUBLIC_URL` is https.
const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Sets the security headers; `Cache-Control: no-store` unless the handler chose a policy.
pub fn set(h: &mut HeaderMap, hsts: bool) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
