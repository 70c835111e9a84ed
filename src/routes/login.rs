//! `GET/POST /login`, `POST /logout`.
//!
//! A login attempt goes through, in order: the length bounds (no query for an over-long
//! field), the per-client (an IPv4 address or an IPv6 /64, `client_ip::limit_key`) and
//! per-e-mail throttles (each counts the attempt *before* the password is checked, so parallel
//! guesses cannot outrun them; one refused by the e-mail's lock is given back to the client's
//! count, since nothing was checked), a place in the bounded
//! password-check queue (503 when full, and the attempt is given back), the argon2 check, and
//! the audit event.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::client_ip::client_limit_key;
use crate::config::Secret;
use crate::db::audit::{self, NewEvent};
use crate::db::throttle::{self, Admission};
use crate::db::users;
use crate::domain::{AuditAction, limits};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::csrf::{TokenOnly, login_cookie_removal, public_form_token};
use crate::session::{CheckedForm, CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::{Layout, render, see_other};

/// The login page.
#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    error: Option<String>,
}

/// What one rendering of the login form shows.
struct Page {
    email: String,
    error: Option<String>,
    flash: Option<String>,
}

impl Page {
    fn new(email: String, error: Option<String>) -> Self {
        Self {
            email,
            error,
            flash: None,
        }
    }
    fn flash(self, flash: Option<String>) -> Self {
        Self { flash, ..self }
    }
}

/// Renders the login form (with the signed anonymous token, and its cookie when new).
fn login_page(
    req: &HttpRequest,
    session: &TypedSession,
    page: Page,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (token, cookie) = public_form_token(req, session);
    let mut layout = Layout::new("Sign in", token);
    layout.flash = page.flash;
    let page = LoginPage {
        layout,
        email: page.email,
        error: page.error,
    };
    let mut res = render(&page, status)?;
    if let Some(c) = cookie {
        res.add_cookie(&c)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("login cookie: {e}")))?;
    }
    Ok(res)
}

/// `GET /login[?signed_out]`. An anonymous view writes nothing to the database.
pub async fn login_form(req: HttpRequest, session: TypedSession) -> Result<HttpResponse, AppError> {
    if session.user_id().is_some() {
        return Ok(see_other("/settings/api-keys"));
    }
    // The session is gone after a sign-out, so its confirmation travels in the address.
    let flash = (req.query_string() == "signed_out").then(|| "You're signed out.".to_owned());
    login_page(
        &req,
        &session,
        Page::new(String::new(), None).flash(flash),
        StatusCode::OK,
    )
}

/// The login form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
}

const GENERIC_FAILURE: &str = "That e-mail and password don't match an account.";
const FORM_EXPIRED: &str = "The sign-in form expired. Enter your password again.";

/// `POST /login`: the same answer, status and timing for an unknown e-mail and a wrong
/// password; throttled per client IP and per e-mail; every checked attempt audited. A form
/// whose token expired is shown again (403) with the e-mail and a fresh token: its password is
/// dropped unread, and nothing is counted or audited.
pub async fn login(
    req: HttpRequest,
    form: CheckedForm<LoginForm>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let LoginForm { email, password } = match form {
        CheckedForm::Fresh(form) => form,
        CheckedForm::Expired(form) => {
            let email = form.email.trim().chars().take(limits::EMAIL).collect();
            let page = Page::new(email, Some(FORM_EXPIRED.into()));
            return login_page(&req, &session, page, StatusCode::FORBIDDEN);
        }
    };
    let email = email.trim().to_owned();
    if let Err(e) = limits::check(&[
        ("E-mail", &email, limits::EMAIL),
        ("Password", &password, limits::PASSWORD),
    ]) {
        let page = Page::new(email.chars().take(limits::EMAIL).collect(), Some(e));
        return login_page(&req, &session, page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let email_lower = email.to_lowercase();
    let password = Secret::new(password);
    let origin = origin(&req);
    let settings = &state.settings;
    let window = settings.login_lockout.as_secs() as i64;
    let ip = client_limit_key(&req, &settings.trusted_proxies);

    let mut conn = state.pool.get().await?;
    if let Admission::Refused { retry_after } =
        throttle::admit_ip(&mut conn, &ip, settings.login_max_failures_per_ip, window).await?
    {
        let msg = "Too many failed sign-ins from your network.";
        return throttled(&req, &session, &email, msg, retry_after);
    }
    if let Admission::Refused { retry_after } =
        throttle::admit_email(&mut conn, &email_lower, settings.login_max_failures, window).await?
    {
        // Refused unchecked by the account's own lock: no guess was made, so the client's
        // count gets the attempt back — else one locked account would lock its whole network
        // out of every account.
        throttle::give_back_ip(&mut conn, &ip).await?;
        let msg = "Too many failed attempts for this e-mail.";
        return throttled(&req, &session, &email, msg, retry_after);
    }
    // Counted, so a place in the password-check queue: when every place is taken, the
    // attempt is given back and the client told to retry (503), never left waiting.
    let place = match state.password_hasher.place() {
        Ok(p) => p,
        Err(busy) => {
            throttle::give_back(&mut conn, &email_lower, &ip).await?;
            return Err(AppError::Unavailable(busy.to_string()));
        }
    };
    let found = users::find_with_hash_by_email(&mut conn, &email).await?;
    drop(conn);
    let (user, stored) = match found {
        Some((u, h)) => (Some(u), Some(h)),
        None => (None, None),
    };
    let ok = place.verify(password, stored).await?;

    let mut conn = state.pool.get().await?;
    let account_id = user.as_ref().map(|u| u.id);
    if !ok {
        let locked =
            throttle::failed_email(&mut conn, &email_lower, settings.login_max_failures, window)
                .await?;
        audit::record(
            &mut conn,
            NewEvent {
                account_id,
                actor_id: account_id,
                action: AuditAction::LoginFailed,
                key_id: None,
                detail: serde_json::json!({ "email": email }),
            },
            &origin,
        )
        .await?;
        if let Some(secs) = locked {
            let msg = "Too many failed attempts for this e-mail.";
            return throttled(&req, &session, &email, msg, secs);
        }
        let page = Page::new(email, Some(GENERIC_FAILURE.into()));
        return login_page(&req, &session, page, StatusCode::UNAUTHORIZED);
    }
    let Some(user) = user else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "password matched without an account"
        )));
    };
    throttle::clear(&mut conn, &email_lower).await?;
    throttle::give_back_ip(&mut conn, &ip).await?;
    audit::record(
        &mut conn,
        NewEvent {
            account_id: Some(user.id),
            actor_id: Some(user.id),
            action: AuditAction::LoginSucceeded,
            key_id: None,
            detail: serde_json::json!({}),
        },
        &origin,
    )
    .await?;
    let now = crate::db::now(&mut conn).await?;
    drop(conn);
    session.log_in(user.id, now)?;
    let mut res = see_other("/settings/api-keys");
    res.add_removal_cookie(&login_cookie_removal())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("login cookie: {e}")))?;
    Ok(res)
}

fn throttled(
    req: &HttpRequest,
    session: &TypedSession,
    email: &str,
    why: &str,
    retry_after: u64,
) -> Result<HttpResponse, AppError> {
    let minutes = retry_after.div_ceil(60);
    let error = format!(
        "{why} Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    );
    let page = Page::new(email.to_owned(), Some(error));
    let mut res = login_page(req, session, page, StatusCode::TOO_MANY_REQUESTS)?;
    res.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from(retry_after),
    );
    Ok(res)
}

/// `POST /logout`: deletes the session server-side; a replayed cookie is anonymous.
pub async fn logout(
    req: HttpRequest,
    _form: CsrfForm<TokenOnly>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if let Some(user) = session.user_id() {
        let mut conn = state.pool.get().await?;
        audit::record(
            &mut conn,
            NewEvent {
                account_id: Some(user),
                actor_id: Some(user),
                action: AuditAction::Logout,
                key_id: None,
                detail: serde_json::json!({}),
            },
            &origin(&req),
        )
        .await?;
    }
    session.log_out();
    Ok(see_other("/login?signed_out"))
}
