//! The account's signed webhook: set the URL (a new secret, shown once; a new destination for
//! every event, so it needs a recent password), send a test event (through the outbox like
//! every notice), remove it (no password: it only tightens).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{PageState, render_page};
use crate::auth::CurrentUser;
use crate::auth::reauth::{self, Reauth};
use crate::db::notices::{self, prefs};
use crate::domain::webhook::{MAX_URL, WebhookSecret, WebhookUrl};
use crate::error::AppError;
use crate::notify::webhook::{HookError, destination};
use crate::session::csrf::TokenOnly;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::see_other;

/// The URL form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct UrlForm {
    url: String,
    /// Only when the password is asked for again; never echoed back.
    password: String,
}

/// `POST /settings/notifications/webhook`: checks the URL (shape, and that every address it
/// resolves to is public — or plain loopback, private or link-local where private destinations
/// are allowed), asks for a recent password, stores the URL with a new secret and shows the
/// secret once. Every refusal is a 422 (429 when the password is throttled) with the input
/// kept. Each delivery checks the address again (`notify::webhook::destination`).
pub async fn set(
    req: HttpRequest,
    form: CsrfForm<UrlForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let raw: String = form.url.chars().take(MAX_URL + 1).collect();
    let refuse = |msg: String| PageState {
        url_input: raw.chars().take(MAX_URL).collect(),
        url_error: Some(msg),
        ..Default::default()
    };
    let url = match WebhookUrl::parse(&raw) {
        Ok(u) => u,
        Err(e) => {
            let page = refuse(e.to_owned());
            return render_page(&state, &current, page, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    if let Err(e) = destination(&url, state.settings.notify.webhook_allow_private).await {
        let msg = match e {
            HookError::Permanent(_) => "That URL points to a loopback, private or link-local address, or another range that is not on the public internet; webhooks only go to public addresses".to_owned(),
            HookError::Transient(_) => "keydesk couldn't find that host — check the URL".to_owned(),
        };
        return render_page(
            &state,
            &current,
            refuse(msg),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let now = {
        let mut conn = state.pool.get().await?;
        crate::db::now(&mut conn).await?
    };
    let asked = reauth::confirm(&req, &session, &current, &state, &form.password, now).await?;
    if asked != Reauth::Confirmed {
        let (why, status, retry) = reauth::refusal(&asked);
        let page = PageState {
            url_input: raw.chars().take(MAX_URL).collect(),
            webhook_password: Some(why),
            ..Default::default()
        };
        let res = render_page(&state, &current, page, status).await?;
        return Ok(reauth::with_retry_after(res, retry));
    }
    let secret = WebhookSecret::generate();
    let mut conn = state.pool.get().await?;
    prefs::set_webhook_for_account(&mut conn, current.user.id, url.as_str(), &secret).await?;
    let page = PageState {
        flash: Some("Webhook saved. Copy the signing secret now: it won't be shown again.".into()),
        secret: Some(secret.display()),
        ..Default::default()
    };
    render_page(&state, &current, page, StatusCode::OK).await
}

/// `POST /settings/notifications/webhook/test`: queues a test event in the outbox.
pub async fn test(
    _form: CsrfForm<TokenOnly>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    if prefs::find_webhook_for_account(&mut conn, current.user.id)
        .await?
        .is_none()
    {
        session.set_flash("Set up a webhook URL first.")?;
        return Ok(see_other("/settings/notifications"));
    }
    if !notices::enqueue_webhook_test(&mut conn, current.user.id).await? {
        drop(conn);
        let page = PageState {
            flash: Some(format!(
                "Not sent: at most {} test events a minute. Try again in a minute.",
                notices::TEST_EVENTS_PER_MINUTE
            )),
            ..Default::default()
        };
        let mut res = render_page(&state, &current, page, StatusCode::TOO_MANY_REQUESTS).await?;
        res.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("60"),
        );
        return Ok(res);
    }
    session.set_flash("Test event queued: it is sent within seconds.")?;
    Ok(see_other("/settings/notifications"))
}

/// `POST /settings/notifications/webhook/delete`.
pub async fn delete(
    _form: CsrfForm<TokenOnly>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    if prefs::delete_webhook_for_account(&mut conn, current.user.id).await? {
        session.set_flash("Webhook removed. Events no longer go to it.")?;
    }
    Ok(see_other("/settings/notifications"))
}
