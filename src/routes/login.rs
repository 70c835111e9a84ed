//! `GET/POST /login`, `POST /logout`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::config::Secret;
use crate::db::audit::{self, NewEvent};
use crate::db::{throttle, users};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::csrf::TokenOnly;
use crate::session::{CsrfForm, TypedSession};
use crate::startup::AppState;
use crate::templates::{Layout, render, see_other};

/// The login page.
#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    error: Option<String>,
}

/// `GET /login`.
pub async fn login_form(session: TypedSession) -> Result<HttpResponse, AppError> {
    if session.user_id().is_some() {
        return Ok(see_other("/settings/api-keys"));
    }
    let page = LoginPage {
        layout: Layout::new("Sign in", session.csrf_token()?),
        email: String::new(),
        error: None,
    };
    render(&page, StatusCode::OK)
}

/// The login form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
}

const GENERIC_FAILURE: &str = "That e-mail and password don't match an account.";

/// `POST /login`: the same answer, status and timing for an unknown e-mail and a wrong
/// password; throttled per e-mail after repeated failures; every attempt audited.
pub async fn login(
    req: HttpRequest,
    form: CsrfForm<LoginForm>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let LoginForm { email, password } = form.into_inner();
    let email = email.trim().to_owned();
    let email_lower = email.to_lowercase();
    let password = Secret::new(password);
    let origin = origin(&req);
    let settings = &state.settings;
    let lockout = settings.login_lockout.as_secs() as i64;

    let mut conn = state.pool.get().await?;
    if let Some(until) = throttle::locked_until(&mut conn, &email_lower).await? {
        return throttled(&session, &email, until);
    }
    let found = if email.len() <= 254 {
        users::find_with_hash_by_email(&mut conn, &email).await?
    } else {
        None
    };
    drop(conn);
    let (user, stored) = match found {
        Some((u, h)) => (Some(u), Some(h)),
        None => (None, None),
    };
    let ok = state.password_hasher.verify(password, stored).await?;

    let mut conn = state.pool.get().await?;
    let account_id = user.as_ref().map(|u| u.id);
    if !ok {
        let locked = throttle::record_failure(
            &mut conn,
            &email_lower,
            settings.login_max_failures,
            lockout,
        )
        .await?;
        audit::record(
            &mut conn,
            NewEvent {
                account_id,
                actor_id: account_id,
                action: "login.failed",
                key_id: None,
                detail: serde_json::json!({ "email": email.chars().take(254).collect::<String>() }),
            },
            &origin,
        )
        .await?;
        if let Some(until) = locked {
            return throttled(&session, &email, until);
        }
        let page = LoginPage {
            layout: Layout::new("Sign in", session.csrf_token()?),
            email,
            error: Some(GENERIC_FAILURE.into()),
        };
        return render(&page, StatusCode::UNAUTHORIZED);
    }
    let Some(user) = user else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "password matched without an account"
        )));
    };
    throttle::clear(&mut conn, &email_lower).await?;
    audit::record(
        &mut conn,
        NewEvent {
            account_id: Some(user.id),
            actor_id: Some(user.id),
            action: "login.succeeded",
            key_id: None,
            detail: serde_json::json!({}),
        },
        &origin,
    )
    .await?;
    session.log_in(user.id)?;
    Ok(see_other("/settings/api-keys"))
}

fn throttled(
    session: &TypedSession,
    email: &str,
    until: chrono::DateTime<chrono::Utc>,
) -> Result<HttpResponse, AppError> {
    let secs = (until - chrono::Utc::now()).num_seconds().max(1) as u64;
    let minutes = secs.div_ceil(60);
    let page = LoginPage {
        layout: Layout::new("Sign in", session.csrf_token()?),
        email: email.to_owned(),
        error: Some(format!(
            "Too many failed attempts for this e-mail. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        )),
    };
    let mut res = render(&page, StatusCode::TOO_MANY_REQUESTS)?;
    res.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from(secs),
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
                action: "logout",
                key_id: None,
                detail: serde_json::json!({}),
            },
            &origin(&req),
        )
        .await?;
    }
    session.log_out();
    Ok(see_other("/login"))
}
