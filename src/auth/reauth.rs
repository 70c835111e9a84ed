//! Recent authentication ("sudo mode", as GitHub calls it): every change that loosens what a
//! key or the account allows needs the password entered within `APP_REAUTH_SECS` (signing in
//! counts) — creating a key, rolling one, widening a key's scopes, re-dating a key so it works
//! longer (later, never, or active again), adding or changing the webhook, and switching a
//! security notice off (`EventType::is_security`). Tightening never does. Otherwise the same
//! form comes back with a password field and the user's input; a right password continues the
//! action. Checked attempts are throttled like sign-ins (per client — an IPv4 address or an
//! IPv6 /64 — and per e-mail, counted before argon2) and audited.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};

use super::CurrentUser;
use crate::client_ip::client_limit_key;
use crate::config::Secret;
use crate::db::audit::{self, NewEvent};
use crate::db::throttle::{self, Admission};
use crate::db::users;
use crate::domain::{AuditAction, limits};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::TypedSession;
use crate::state::AppState;

/// The message shown when the password is asked for.
pub const ASK: &str =
    "Confirm your password to continue: it has been a while since you entered it.";

/// The message shown for a wrong password.
pub const WRONG: &str = "That password isn't right — try again.";

/// Whether the password was entered within the window before `now`.
pub fn is_recent(
    authenticated_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    window: std::time::Duration,
) -> bool {
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::zero());
    authenticated_at.is_some_and(|t| t <= now + chrono::Duration::seconds(5) && now - t <= window)
}

/// Whether a form for a sensitive action should show the password field up front.
pub fn needs_password(current: &CurrentUser, settings: &crate::config::Settings) -> bool {
    !is_recent(current.authenticated_at, Utc::now(), settings.reauth_window)
}

/// The result of asking for recent authentication.
#[derive(Debug, PartialEq, Eq)]
pub enum Reauth {
    /// Recent enough, or the password was just confirmed: go on.
    Confirmed,
    /// Ask for the password (none was sent).
    Needed,
    /// The password sent was wrong.
    Wrong,
    /// Too many attempts: try again after this many seconds.
    Throttled(u64),
}

/// Decides whether the action may go on: recent enough already, or `password` (from the form)
/// is the account's. `now` is the database's clock.
pub async fn confirm(
    req: &HttpRequest,
    session: &TypedSession,
    current: &CurrentUser,
    state: &AppState,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Reauth, AppError> {
    let settings = &state.settings;
    if is_recent(current.authenticated_at, now, settings.reauth_window) {
        return Ok(Reauth::Confirmed);
    }
    if password.is_empty() {
        return Ok(Reauth::Needed);
    }
    if password.chars().count() > limits::PASSWORD {
        return Ok(Reauth::Wrong);
    }
    let email_lower = current.user.email.to_lowercase();
    let window = settings.login_lockout.as_secs() as i64;
    let ip = client_limit_key(req, &settings.trusted_proxies);
    let mut conn = state.pool.get().await?;
    if let Admission::Refused { retry_after } =
        throttle::admit_ip(&mut conn, &ip, settings.login_max_failures_per_ip, window).await?
    {
        return Ok(Reauth::Throttled(retry_after));
    }
    if let Admission::Refused { retry_after } =
        throttle::admit_email(&mut conn, &email_lower, settings.login_max_failures, window).await?
    {
        // nothing checked: the client's count gets the attempt back (as at sign-in)
        throttle::give_back_ip(&mut conn, &ip).await?;
        return Ok(Reauth::Throttled(retry_after));
    }
    let place = match state.password_hasher.place() {
        Ok(p) => p,
        Err(busy) => {
            throttle::give_back(&mut conn, &email_lower, &ip).await?;
            return Err(AppError::Unavailable(busy.to_string()));
        }
    };
    let stored = users::find_with_hash_by_email(&mut conn, &current.user.email)
        .await?
        .filter(|(u, _)| u.id == current.user.id)
        .map(|(_, h)| h);
    drop(conn);
    let ok = place
        .verify(Secret::new(password.to_owned()), stored)
        .await?;
    let mut conn = state.pool.get().await?;
    let account = Some(current.user.id);
    let event = |action| NewEvent {
        account_id: account,
        actor_id: account,
        action,
        key_id: None,
        detail: serde_json::json!({}),
    };
    if !ok {
        let locked =
            throttle::failed_email(&mut conn, &email_lower, settings.login_max_failures, window)
                .await?;
        audit::record(&mut conn, event(AuditAction::ReauthFailed), &origin(req)).await?;
        return Ok(locked.map_or(Reauth::Wrong, Reauth::Throttled));
    }
    throttle::clear(&mut conn, &email_lower).await?;
    throttle::give_back_ip(&mut conn, &ip).await?;
    audit::record(&mut conn, event(AuditAction::ReauthSucceeded), &origin(req)).await?;
    let now = crate::db::now(&mut conn).await?;
    session.mark_authenticated(now)?;
    Ok(Reauth::Confirmed)
}

/// The message, status and `Retry-After` for a password that was not confirmed: the form
/// comes back with them (422, or 429 when throttled).
pub fn refusal(asked: &Reauth) -> (String, StatusCode, Option<u64>) {
    match asked {
        Reauth::Throttled(secs) => {
            let minutes = secs.div_ceil(60);
            let plural = if minutes == 1 { "" } else { "s" };
            (
                format!("Too many wrong passwords. Try again in {minutes} minute{plural}."),
                StatusCode::TOO_MANY_REQUESTS,
                Some(*secs),
            )
        }
        Reauth::Wrong => (WRONG.into(), StatusCode::UNPROCESSABLE_ENTITY, None),
        Reauth::Needed | Reauth::Confirmed => (ASK.into(), StatusCode::UNPROCESSABLE_ENTITY, None),
    }
}

/// Adds `Retry-After` when the refusal has one.
pub fn with_retry_after(mut res: HttpResponse, retry: Option<u64>) -> HttpResponse {
    if let Some(secs) = retry {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_password_is_recent_for_the_window_only() {
        let now = Utc::now();
        let w = Duration::from_secs(600);
        assert!(is_recent(
            Some(now - chrono::Duration::seconds(599)),
            now,
            w
        ));
        assert!(is_recent(
            Some(now - chrono::Duration::seconds(600)),
            now,
            w
        ));
        assert!(!is_recent(
            Some(now - chrono::Duration::seconds(601)),
            now,
            w
        ));
        assert!(!is_recent(None, now, w));
        // a time far in the future (a forged or corrupted value) is not "recent"
        assert!(!is_recent(Some(now + chrono::Duration::hours(1)), now, w));
    }
}
