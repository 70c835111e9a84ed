//! CSRF protection for HTML forms: a synchronizer token kept in the session and compared in
//! constant time. The Origin / `Sec-Fetch-Site` check on every unsafe method lives in
//! `security::origin_allowed`.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use rand::distr::{Alphanumeric, SampleString};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::TypedSession;
use crate::error::AppError;

/// A new random token (≈ 238 bits).
pub fn new_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 40)
}

#[derive(serde::Deserialize, Default)]
struct TokenField {
    #[serde(default)]
    csrf_token: String,
}

/// A form that carries nothing but the CSRF token (logout, revoke, delete, unlink).
#[derive(Debug, serde::Deserialize, Default)]
pub struct TokenOnly {}

/// A URL-encoded form whose `csrf_token` matched the session's token. Handlers that change
/// state take this instead of `web::Form`, so none can forget the check.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T> CsrfForm<T> {
    /// The form.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let is_form = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            })
            .unwrap_or(false);
        let body = web::Bytes::from_request(&req, payload);
        let deadline = req
            .app_data::<web::Data<crate::startup::AppState>>()
            .map_or(std::time::Duration::from_secs(30), |s| {
                s.settings.body_deadline
            });
        Box::pin(async move {
            if !is_form {
                return Err(AppError::UnsupportedMediaType.into());
            }
            // actix-web has no deadline for reading a body: a client that trickles one byte
            // at a time would hold the worker's slot forever.
            let body = tokio::time::timeout(deadline, body)
                .await
                .map_err(|_| AppError::RequestTimeout)??;
            let presented = serde_html_form::from_bytes::<TokenField>(&body)
                .unwrap_or_default()
                .csrf_token;
            let expected = TypedSession::of(&req).existing_csrf_token();
            let ok = match expected {
                Some(exp) if !presented.is_empty() => {
                    bool::from(exp.as_bytes().ct_eq(presented.as_bytes()))
                }
                _ => false,
            };
            if !ok {
                return Err(AppError::Csrf.into());
            }
            let form = serde_html_form::from_bytes::<T>(&body).map_err(|_| AppError::BadRequest)?;
            Ok(CsrfForm(form))
        })
    }
}
