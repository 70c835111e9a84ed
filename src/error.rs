//! `AppError`: every way a request can fail, mapped to a truthful status. The body of an error
//! response is rendered in one place (`middleware::finish`), with the request's reference id, so
//! every error page looks the same and carries the same headers.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};

/// A request failure.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such page or resource (also: another account's resource).
    #[error("not found")]
    NotFound,
    /// The CSRF token or the request's origin did not check out.
    #[error("CSRF check failed")]
    Csrf,
    /// Authenticated but not allowed.
    #[error("forbidden")]
    Forbidden,
    /// A malformed request.
    #[error("bad request")]
    BadRequest,
    /// The body did not arrive before the deadline.
    #[error("request body timed out")]
    RequestTimeout,
    /// A form posted with the wrong content type.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// Too many attempts; retry after this many seconds.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// The database is unreachable.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: logged with the reference id, shown as a generic 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Seconds a client should wait after a 503.
pub const RETRY_AFTER_UNAVAILABLE: u64 = 5;

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        // A transaction that still lost its race after being run again (`db::retry`) changed
        // nothing: the client should retry, as after an outage.
        if crate::db::is_unavailable(&e) || crate::db::retry::is_retryable(&e) {
            AppError::Unavailable(e.to_string())
        } else {
            AppError::Internal(anyhow::Error::new(e).context("database query failed"))
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("rendering a template"))
    }
}

impl From<actix_session::SessionInsertError> for AppError {
    fn from(e: actix_session::SessionInsertError) -> Self {
        AppError::Internal(anyhow::anyhow!("session insert: {e}"))
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Csrf | AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::BadRequest => StatusCode::BAD_REQUEST,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        match self {
            AppError::TooManyRequests { retry_after } => {
                res.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            AppError::Unavailable(_) => {
                res.insert_header((header::RETRY_AFTER, RETRY_AFTER_UNAVAILABLE.to_string()));
            }
            _ => {}
        }
        res.finish()
    }
}

/// The message a person reads for a status (the log gets the details).
pub fn public_message(status: StatusCode, csrf: bool) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => (
            "Bad request",
            "That request couldn't be understood. Go back and try again.",
        ),
        403 if csrf => (
            "This form has expired",
            "The form was open too long or came from another site. Go back, reload the page and try again.",
        ),
        403 => ("Not allowed", "You don't have access to do that."),
        404 => (
            "Page not found",
            "There's nothing here. Check the address, or go back to your API keys.",
        ),
        405 => (
            "Not available",
            "That action isn't available at this address.",
        ),
        408 => (
            "Request timed out",
            "The request took too long to arrive. Try again.",
        ),
        413 => (
            "Too large",
            "That form was larger than keydesk accepts. Shorten it and try again.",
        ),
        415 => (
            "Unsupported form",
            "keydesk only accepts ordinary web forms here.",
        ),
        429 => ("Too many attempts", "Wait a little, then try again."),
        431 => (
            "Request headers too large",
            "Your browser sent headers that are too large.",
        ),
        503 => (
            "Temporarily unavailable",
            "keydesk can't reach its database right now. Nothing was changed. Try again in a moment.",
        ),
        _ => (
            "Something went wrong",
            "Something went wrong on our side. Nothing was shown to anyone else. Try again, and quote the reference below if you contact support.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_a_truthful_status() {
        assert_eq!(AppError::NotFound.status_code(), 404);
        assert_eq!(AppError::Csrf.status_code(), 403);
        assert_eq!(
            AppError::TooManyRequests { retry_after: 3 }.status_code(),
            429
        );
        assert_eq!(AppError::Unavailable("x".into()).status_code(), 503);
        assert_eq!(AppError::Internal(anyhow::anyhow!("x")).status_code(), 500);
        assert_eq!(AppError::UnsupportedMediaType.status_code(), 415);
        let r = AppError::Unavailable("x".into()).error_response();
        assert_eq!(r.headers().get("retry-after").unwrap(), "5");
    }

    #[test]
    fn a_closed_connection_is_unavailable_not_internal() {
        let e = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ClosedConnection,
            Box::new("closed".to_string()),
        );
        assert!(matches!(AppError::from(e), AppError::Unavailable(_)));
        assert!(matches!(
            AppError::from(diesel::result::Error::NotFound),
            AppError::Internal(_)
        ));
    }
}
