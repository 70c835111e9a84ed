//! Reading a request body: within the size limit of `web::PayloadConfig` (413 beyond it) and
//! within `APP_BODY_DEADLINE_SECS` (408 after it). actix-web has no deadline of its own for
//! a body, so a client trickling one byte at a time would otherwise hold a connection forever.
//! Every handler that reads a body goes through here, after it has checked what it can
//! without the body (the caller's credentials, the content type).

use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::error::AppError;
use crate::state::AppState;

/// Whether the request says its body is an HTML form (`application/x-www-form-urlencoded`).
pub fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// The configured deadline (30 s when the application state is missing, as in unit tests).
pub fn deadline(req: &HttpRequest) -> Duration {
    req.app_data::<web::Data<AppState>>()
        .map_or(Duration::from_secs(30), |s| s.settings.body_deadline)
}

/// Reads the whole body under the size limit and the deadline.
pub async fn read(
    req: &HttpRequest,
    payload: &mut Payload,
) -> Result<web::Bytes, actix_web::Error> {
    let body = web::Bytes::from_request(req, payload);
    tokio::time::timeout(deadline(req), body)
        .await
        .map_err(|_| AppError::RequestTimeout)?
}
