//! The cross-site check on unsafe methods, against the configured public origin (never the
//! request's own `Host` or forwarding headers, which a client controls).

use actix_web::HttpRequest;
use actix_web::http::Method;

/// Methods that may change state.
pub fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `Sec-Fetch-Site` decides when present (Chromium sends `Origin: null` on same-origin form
/// posts under some referrer policies, but always sends `Sec-Fetch-Site`); otherwise a present
/// `Origin` must equal `public_origin`. Requests with neither are non-browser clients, which
/// still need the CSRF token.
pub fn allowed(req: &HttpRequest, public_origin: &str) -> bool {
    let h = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = h("sec-fetch-site") {
        return site == "same-origin";
    }
    match h("origin") {
        None => true,
        Some(origin) => origin == public_origin,
    }
}
