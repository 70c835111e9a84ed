//! CSRF protection for HTML forms, compared in constant time:
//!
//! * a logged-in session carries a synchronizer token (made at login);
//! * the login form, shown to anonymous visitors, uses a signed double-submit token instead, so
//!   an anonymous page view writes no session row: the browser gets a random nonce in the
//!   `__Host-keydesk-login` cookie and the form carries the HMAC of that nonce under a key
//!   derived from `APP_SESSION_KEY`. Logging in starts a session with a fresh token and drops
//!   the cookie.
//!
//! The Origin / `Sec-Fetch-Site` check on every unsafe method lives in `middleware::origin`.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use hmac::{Hmac, Mac};
use rand::distr::{Alphanumeric, SampleString};
use serde::de::DeserializeOwned;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::TypedSession;
use crate::error::AppError;
use crate::state::AppState;

/// The cookie that binds the login form's token to one browser before any session exists.
pub const LOGIN_COOKIE: &str = "__Host-keydesk-login";

/// Signs login-form tokens (HMAC-SHA-256 under a key derived from `APP_SESSION_KEY`).
#[derive(Clone)]
pub struct AnonymousTokens {
    mac: Hmac<Sha256>,
}

impl AnonymousTokens {
    /// Derives the signing key from the session key (a label keeps it apart from other uses).
    pub fn new(session_key: &[u8]) -> Self {
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(session_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        derive.update(b"keydesk login-form csrf v1");
        let key = derive.finalize().into_bytes();
        Self {
            mac: <Hmac<Sha256> as Mac>::new_from_slice(&key)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
        }
    }

    /// The form token for a nonce.
    pub fn token(&self, nonce: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(nonce.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The login cookie's nonce, when the browser sent a plausible one.
fn login_nonce(req: &HttpRequest) -> Option<String> {
    req.cookie(LOGIN_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| (32..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The token for a form anyone may see (the login form): the session's own token when there is
/// a session, else the signed token of the browser's login nonce, plus the cookie to set when
/// the browser has no nonce yet. Writes nothing to the database.
pub fn public_form_token(
    req: &HttpRequest,
    session: &TypedSession,
) -> (String, Option<Cookie<'static>>) {
    if let Some(t) = session.existing_csrf_token() {
        return (t, None);
    }
    let Some(tokens) = req
        .app_data::<web::Data<AppState>>()
        .map(|s| &s.anonymous_csrf)
    else {
        return (String::new(), None);
    };
    match login_nonce(req) {
        Some(nonce) => (tokens.token(&nonce), None),
        None => {
            let nonce = Alphanumeric.sample_string(&mut rand::rng(), 32);
            let cookie = Cookie::build(LOGIN_COOKIE, nonce.clone())
                .path("/")
                .secure(true)
                .http_only(true)
                .same_site(SameSite::Lax)
                .finish();
            (tokens.token(&nonce), Some(cookie))
        }
    }
}

/// The cookie that removes the login nonce (sent with a successful login).
pub fn login_cookie_removal() -> Cookie<'static> {
    Cookie::build(LOGIN_COOKIE, "")
        .path("/")
        .secure(true)
        .http_only(true)
        .finish()
}

/// What a submitted form's token must equal: the session's token, or the signed login nonce.
fn expected_token(req: &HttpRequest) -> Option<String> {
    if let Some(t) = TypedSession::of(req).existing_csrf_token() {
        return Some(t);
    }
    let state = req.app_data::<web::Data<AppState>>()?;
    login_nonce(req).map(|n| state.anonymous_csrf.token(&n))
}

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
        let is_form = crate::body::is_form(&req);
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_form {
                return Err(AppError::UnsupportedMediaType.into());
            }
            let body = crate::body::read(&req, &mut payload).await?;
            let presented = serde_html_form::from_bytes::<TokenField>(&body)
                .unwrap_or_default()
                .csrf_token;
            let expected = expected_token(&req);
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
