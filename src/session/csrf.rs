//! CSRF protection for HTML forms, compared in constant time:
//!
//! * a logged-in session carries a synchronizer token (made at login);
//! * the login form, shown to anonymous visitors, uses a signed double-submit token instead, so
//!   an anonymous page view writes no session row: the browser gets a random nonce in the
//!   `__Host-keydesk-login` cookie and the form carries the HMAC of that nonce under a key
//!   derived from `APP_SESSION_KEY`. Logging in starts a session with a fresh token and drops
//!   the cookie.
//!
//! A handler takes `CsrfForm` (a mismatch is the generic 403 page) or, for a form it can show
//! again with the user's input, `CheckedForm`. The Origin / `Sec-Fetch-Site` check on every
//! unsafe method lives in `middleware::origin`.

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

/// The token as a page carries it: a fresh random pad and the token XOR the pad, base64url.
/// Every response shows different bytes for the same token, so a compressed page's length
/// says nothing about it (BREACH); `unmask` gives the token back.
pub fn mask(token: &str) -> String {
    use base64::Engine;
    if token.is_empty() {
        return String::new();
    }
    let pad: Vec<u8> = (0..token.len()).map(|_| rand::random::<u8>()).collect();
    let mut out = pad.clone();
    out.extend(token.bytes().zip(&pad).map(|(t, p)| t ^ p));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
}

/// The token inside a masked one; `None` when the value is not a masked token.
pub fn unmask(masked: &str) -> Option<String> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(masked)
        .ok()?;
    if raw.is_empty() || raw.len() % 2 != 0 {
        return None;
    }
    let (pad, xored) = raw.split_at(raw.len() / 2);
    String::from_utf8(xored.iter().zip(pad).map(|(x, p)| x ^ p).collect()).ok()
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

/// Whether a form body's `csrf_token` matches what the request must present. Pages carry the
/// token masked; a bare token (an older page) is accepted as well.
fn token_matches(req: &HttpRequest, body: &[u8]) -> bool {
    let presented = serde_html_form::from_bytes::<TokenField>(body)
        .unwrap_or_default()
        .csrf_token;
    let unmasked = unmask(&presented).unwrap_or_default();
    match expected_token(req) {
        Some(exp) if !presented.is_empty() => {
            bool::from(exp.as_bytes().ct_eq(presented.as_bytes()))
                | bool::from(exp.as_bytes().ct_eq(unmasked.as_bytes()))
        }
        _ => false,
    }
}

/// Reads a URL-encoded body (the content type and `crate::body`'s size and time limits) and
/// checks its token: the body and whether the token matched.
async fn read_checked(
    req: &HttpRequest,
    mut payload: Payload,
) -> Result<(web::Bytes, bool), actix_web::Error> {
    if !crate::body::is_form(req) {
        return Err(AppError::UnsupportedMediaType.into());
    }
    let body = crate::body::read(req, &mut payload).await?;
    let matched = token_matches(req, &body);
    Ok((body, matched))
}

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

    /// `CheckedForm`'s check, with an expired token refused (the generic 403 page).
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = CheckedForm::<T>::from_request(req, payload);
        Box::pin(async move {
            match checked.await? {
                CheckedForm::Fresh(form) => Ok(CsrfForm(form)),
                CheckedForm::Expired(_) => Err(AppError::Csrf.into()),
            }
        })
    }
}

/// A URL-encoded form with the outcome of the same token check as [`CsrfForm`], for the forms
/// that answer an expired token (a rotated session, a page left open across a sign-in, an
/// aged-out login nonce) by showing the form again with what the user typed, instead of the
/// generic "form expired" page that loses it.
///
/// An `Expired` form may only be shown back (403, with the page's fresh token): the handler
/// writes nothing, counts nothing and audits nothing for it. Showing it back reflects nothing
/// an attacker chose: `middleware::origin` refuses cross-site browser POSTs (by
/// `Sec-Fetch-Site` or `Origin`) before any handler runs, so the input is the same-origin
/// user's own (or a non-browser client's own), and askama escapes it. The fresh token in that
/// page is the one any GET of the page shows the same browser.
///
/// The body rules are `CsrfForm`'s: wrong content type 415, too large 413, too slow 408; a
/// body that does not parse is 400 with a matching token and the generic 403 without one.
#[derive(Debug)]
pub enum CheckedForm<T> {
    /// The token matched: act on the form.
    Fresh(T),
    /// The token did not match: show the form again, do nothing else with it.
    Expired(T),
}

impl<T> CheckedForm<T> {
    /// The form, and whether its token had expired.
    pub fn into_parts(self) -> (T, bool) {
        match self {
            CheckedForm::Fresh(form) => (form, false),
            CheckedForm::Expired(form) => (form, true),
        }
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for CheckedForm<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let (body, matched) = read_checked(&req, payload).await?;
            let form = serde_html_form::from_bytes::<T>(&body).map_err(|_| {
                if matched {
                    AppError::BadRequest
                } else {
                    AppError::Csrf
                }
            })?;
            Ok(if matched {
                CheckedForm::Fresh(form)
            } else {
                CheckedForm::Expired(form)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_token_differs_every_time_and_unmasks_to_the_token() {
        let token = new_token();
        let (a, b) = (mask(&token), mask(&token));
        assert_ne!(a, b);
        assert!(!a.contains(&token));
        assert_eq!(unmask(&a).as_deref(), Some(token.as_str()));
        assert_eq!(unmask(&b).as_deref(), Some(token.as_str()));
        assert_eq!(mask(""), "");
        assert_eq!(unmask("not base64!"), None);
    }
}
