//! Login sessions: a Postgres-backed `SessionStore` for actix-session, the typed accessor that
//! is the only code naming session keys, and CSRF protection.

pub mod csrf;
pub mod store;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use chrono::{DateTime, Utc};
use std::future::{Ready, ready};
use uuid::Uuid;

pub use csrf::{CheckedForm, CsrfForm};
pub use store::PgSessionStore;

/// The session middleware: the `__Host-` cookie (`startup::SESSION_COOKIE`), `Secure`,
/// `HttpOnly`, `SameSite=Lax`, for the browser session, its state kept `idle` after the last
/// change (the store enforces the idle and absolute limits itself).
pub fn middleware(
    store: PgSessionStore,
    key: actix_web::cookie::Key,
    idle: std::time::Duration,
) -> actix_session::SessionMiddleware<PgSessionStore> {
    use actix_session::config::{BrowserSession, TtlExtensionPolicy};
    actix_session::SessionMiddleware::builder(store, key)
        .cookie_name(crate::startup::SESSION_COOKIE.to_owned())
        .cookie_secure(true)
        .cookie_http_only(true)
        .cookie_same_site(actix_web::cookie::SameSite::Lax)
        .cookie_path("/".to_owned())
        .session_lifecycle(
            BrowserSession::default()
                .state_ttl(actix_web::cookie::time::Duration::seconds(
                    idle.as_secs() as i64
                ))
                .state_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
        )
        .build()
}

const USER_ID: &str = "user_id";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";
/// When the password was last entered (Unix seconds on the database's clock).
const AUTHENTICATED_AT: &str = "authenticated_at";

/// Typed access to the session.
pub struct TypedSession(Session);

impl TypedSession {
    /// The session of a request.
    pub fn of(req: &HttpRequest) -> Self {
        TypedSession(req.get_session())
    }

    /// Starts an authenticated session: a new session id (against fixation), the user, a
    /// fresh CSRF token, and `now` (the database's clock) as the time the password was entered.
    pub fn log_in(
        &self,
        user: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), actix_session::SessionInsertError> {
        self.0.renew();
        self.0.insert(USER_ID, user)?;
        self.0.insert(CSRF, csrf::new_token())?;
        self.mark_authenticated(now)
    }

    /// Records that the password was entered again at `now` (the database's clock).
    pub fn mark_authenticated(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(), actix_session::SessionInsertError> {
        self.0.insert(AUTHENTICATED_AT, now.timestamp())
    }

    /// When the password was last entered in this session, if known.
    pub fn authenticated_at(&self) -> Option<DateTime<Utc>> {
        let secs = self.0.get::<i64>(AUTHENTICATED_AT).ok().flatten()?;
        DateTime::from_timestamp(secs, 0)
    }

    /// The logged-in user, if any. A session whose state cannot be read counts as anonymous.
    pub fn user_id(&self) -> Option<Uuid> {
        self.0.get::<Uuid>(USER_ID).ok().flatten()
    }

    /// Ends the session and deletes it server-side.
    pub fn log_out(&self) {
        self.0.purge();
    }

    /// The session's CSRF token, created on first use.
    pub fn csrf_token(&self) -> Result<String, actix_session::SessionInsertError> {
        if let Some(t) = self.0.get::<String>(CSRF).ok().flatten() {
            return Ok(t);
        }
        let t = csrf::new_token();
        self.0.insert(CSRF, &t)?;
        Ok(t)
    }

    /// The stored token without creating one.
    pub fn existing_csrf_token(&self) -> Option<String> {
        self.0.get::<String>(CSRF).ok().flatten()
    }

    /// Stores a one-time message for the next page (never a secret).
    pub fn set_flash(&self, message: &str) -> Result<(), actix_session::SessionInsertError> {
        self.0.insert(FLASH, message)
    }

    /// Takes the one-time message, if any. Only a present message is removed: actix-session
    /// marks the session changed on any `remove`, and a changed session is written back to the
    /// database, which would cost a write (and an fsync) on every page view.
    pub fn take_flash(&self) -> Option<String> {
        let message = self.0.get::<String>(FLASH).ok().flatten()?;
        self.0.remove(FLASH);
        Some(message)
    }
}

impl FromRequest for TypedSession {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(TypedSession(req.get_session())))
    }
}
