//! One renderer for every error page: HTML with the layout, or JSON under `/api/`, always with
//! the request's reference id (also in the log). Handlers return `AppError`; whatever status
//! reaches the outer middleware without a finished page is rendered here.

use actix_web::http::header::HeaderMap;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use futures_util::FutureExt;

use crate::auth::CurrentUser;
use crate::error::{AppError, public_message};
use crate::session::store::DB_UNAVAILABLE;
use crate::templates::{ErrorPage, Layout};

/// The page for an error value (`csrf` when the origin check refused the request). With the
/// signed-in `user` the page keeps their header and navigation.
pub fn error_response(
    err: &actix_web::Error,
    status: StatusCode,
    old_headers: &HeaderMap,
    id: &str,
    is_api: bool,
    csrf: bool,
    user: Option<&CurrentUser>,
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
    build_page(status, &headers, id, is_api, csrf, unavailable, user)
}

/// The page for an error status that carries no error value.
pub fn plain_error_response(
    status: StatusCode,
    old_headers: &HeaderMap,
    id: &str,
    is_api: bool,
    user: Option<&CurrentUser>,
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
        user,
    )
}

fn build_page(
    status: StatusCode,
    old_headers: &HeaderMap,
    id: &str,
    is_api: bool,
    csrf: bool,
    unavailable: bool,
    user: Option<&CurrentUser>,
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
        layout: match user {
            Some(u) => u.layout(heading, ""),
            None => Layout::new(heading, String::new()),
        },
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
pub struct PrebuiltResponse {
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
