//! The outermost middleware: a request id, the Origin / `Sec-Fetch-Site` check on unsafe
//! methods, one renderer for every error page (HTML, or JSON under `/api/`), the SPEC §8
//! headers on every response, and one access-log line per request.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use futures_util::FutureExt;
use rand::distr::{Alphanumeric, SampleString};

use crate::error::{AppError, public_message};
use crate::session::store::DB_UNAVAILABLE;
use crate::templates::{ErrorPage, Layout, Rendered};

/// The request's reference id: in the access log, in error logs, on the error page.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The Content-Security-Policy of every response (no inline script or style anywhere).
pub const CSP: &str = "default-src 'self'; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'none'; form-action 'self'";

fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Cross-site request check for unsafe methods. `Sec-Fetch-Site` decides when present
/// (Chromium sends `Origin: null` on same-origin form posts under some referrer policies, but
/// always sends `Sec-Fetch-Site`); otherwise a present `Origin` must be ours. Requests with
/// neither are non-browser clients, which still need the CSRF token.
pub fn origin_allowed(req: &HttpRequest) -> bool {
    let h = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = h("sec-fetch-site") {
        return site == "same-origin";
    }
    match h("origin") {
        None => true,
        Some(origin) => {
            let info = req.connection_info();
            origin == format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// The middleware itself (`middleware::from_fn(finish)`).
pub async fn finish(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = Alphanumeric.sample_string(&mut rand::rng(), 12);
    req.extensions_mut().insert(RequestId(id.clone()));
    // Keep copies, not a clone of the request: routing needs the request to be unshared.
    let method = req.method().clone();
    let path = req.path().to_owned();
    let is_api = path.starts_with("/api/");
    let metrics = req
        .app_data::<actix_web::web::Data<crate::startup::AppState>>()
        .map(|s| s.metrics.clone());
    let count = |route: Option<String>, status: u16| {
        if let Some(m) = &metrics {
            m.request(
                route.unwrap_or_else(|| "unmatched".to_owned()),
                &method,
                status,
            );
        }
    };
    let log = |status: u16| {
        tracing::info!(
            request_id = %id,
            method = %method,
            path = ?path,
            status,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
    };

    if !is_api && is_unsafe(req.method()) && !origin_allowed(req.request()) {
        let err = actix_web::Error::from(AppError::Csrf);
        let mut page = error_response(
            &err,
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            &id,
            is_api,
            true,
        );
        set_security_headers(page.headers_mut());
        log(403);
        count(req.match_pattern(), 403);
        return Ok(req.into_response(page));
    }

    match next.call(req).await {
        Ok(res) => {
            let mut res = res.map_into_boxed_body();
            if res.status().as_u16() >= 400
                && res.response().extensions().get::<Rendered>().is_none()
            {
                let (req, old) = res.into_parts();
                let new = match old.error() {
                    Some(e) => error_response(e, old.status(), old.headers(), &id, is_api, false),
                    None => plain_error_response(old.status(), old.headers(), &id, is_api),
                };
                res = ServiceResponse::new(req, new);
            }
            set_security_headers(res.headers_mut());
            log(res.status().as_u16());
            count(res.request().match_pattern(), res.status().as_u16());
            Ok(res)
        }
        // An inner middleware failed (e.g. the session store could not reach the database).
        // There is no request left to attach a response to, so hand actix a finished page
        // as the error's own response.
        Err(e) => {
            let mut page = error_response(
                &e,
                e.as_response_error().status_code(),
                &HeaderMap::new(),
                &id,
                is_api,
                false,
            );
            set_security_headers(page.headers_mut());
            log(page.status().as_u16());
            count(Some("middleware_error".to_owned()), page.status().as_u16());
            Err(PrebuiltResponse::from(page).into())
        }
    }
}

fn error_response(
    err: &actix_web::Error,
    status: StatusCode,
    old_headers: &HeaderMap,
    id: &str,
    is_api: bool,
    csrf: bool,
) -> HttpResponse {
    let app = err.as_error::<AppError>();
    let csrf = csrf || matches!(app, Some(AppError::Csrf));
    let mut status = status;
    let mut unavailable = matches!(app, Some(AppError::Unavailable(_)));
    // actix-session wraps store errors in its own generic message; the cause is in the Debug form.
    if status == StatusCode::INTERNAL_SERVER_ERROR && format!("{err:?}").contains(DB_UNAVAILABLE) {
        status = StatusCode::SERVICE_UNAVAILABLE;
        unavailable = true;
    }
    if status.is_server_error() {
        tracing::error!(request_id = %id, error = ?err, "request failed");
    } else {
        tracing::debug!(request_id = %id, error = %err, "request refused");
    }
    let mut headers = old_headers.clone();
    if unavailable && !headers.contains_key(header::RETRY_AFTER) {
        headers.insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(crate::error::RETRY_AFTER_UNAVAILABLE),
        );
    }
    build_page(status, &headers, id, is_api, csrf, unavailable)
}

fn plain_error_response(
    status: StatusCode,
    old_headers: &HeaderMap,
    id: &str,
    is_api: bool,
) -> HttpResponse {
    if status.is_server_error() {
        tracing::error!(request_id = %id, "request failed without an error value");
    }
    build_page(
        status,
        old_headers,
        id,
        is_api,
        false,
        status == StatusCode::SERVICE_UNAVAILABLE,
    )
}

fn build_page(
    status: StatusCode,
    old_headers: &HeaderMap,
    id: &str,
    is_api: bool,
    csrf: bool,
    unavailable: bool,
) -> HttpResponse {
    let (heading, message) = public_message(status, csrf);
    let mut builder = HttpResponse::build(status);
    for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE, header::ALLOW] {
        if let Some(v) = old_headers.get(&name) {
            builder.insert_header((name, v.clone()));
        }
    }
    if is_api {
        return builder.json(serde_json::json!({
            "error": if unavailable { "temporarily_unavailable" } else { heading },
            "message": message,
            "request_id": id,
        }));
    }
    let page = ErrorPage {
        layout: Layout::new(heading, String::new()),
        status: status.as_u16(),
        heading,
        message,
        reference: id,
    };
    match page.render() {
        Ok(html) => builder.content_type("text/html; charset=utf-8").body(html),
        Err(_) => builder
            .content_type("text/plain; charset=utf-8")
            .body(format!("{heading}\nReference: {id}\n")),
    }
}

/// A finished response carried as an error, for failures that happen where no request is left.
#[derive(Debug)]
struct PrebuiltResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: actix_web::web::Bytes,
}

impl From<HttpResponse> for PrebuiltResponse {
    fn from(res: HttpResponse) -> Self {
        let status = res.status();
        let headers = res.headers().clone();
        let body = actix_web::body::to_bytes_limited(res.into_body(), 1 << 20)
            .now_or_never()
            .and_then(|r| r.ok())
            .and_then(|r| r.ok())
            .unwrap_or_default();
        Self {
            status,
            headers,
            body,
        }
    }
}

impl std::fmt::Display for PrebuiltResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error page {}", self.status)
    }
}

impl ResponseError for PrebuiltResponse {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status).body(self.body.clone());
        for (k, v) in &self.headers {
            res.headers_mut().insert(k.clone(), v.clone());
        }
        res
    }
}

fn set_security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        header::HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
}
