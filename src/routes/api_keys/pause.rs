//! Pause and resume: `GET/POST /settings/api-keys/{id}/pause` and `…/resume`. A paused key is
//! refused (`401 paused`, introspection `refusal: "paused"`) from the very next request on
//! every instance, keeps its place among the 10 active keys, and works again once resumed.
//! Pausing never asks for the password; resuming loosens, so it needs a recent one. Both are
//! audited and notified (security notices). This is the owner's pause of one key, distinct
//! from the account-wide pause of eligibility (API keys off, no self-custodied wallet).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::sudo::{self, AsksPassword, owned_key};
use crate::auth::CurrentUser;
use crate::auth::reauth::{self, Reauth};
use crate::db::api_keys::{self, KeyRow, PauseOutcome};
use crate::domain::key_status::REVOKED_IS_FINAL;
use crate::error::AppError;
use crate::routes::origin;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::{Layout, render, see_other};

/// The pause or resume confirmation page (the no-JavaScript path, and where the password is
/// asked for).
#[derive(Template)]
#[template(path = "api_keys/pause.html")]
struct PausePage {
    layout: Layout,
    key_id: Uuid,
    name: String,
    display: String,
    /// True: the page resumes; false: it pauses.
    resume: bool,
    error: Option<String>,
    can_submit: bool,
    password_required: bool,
    password_error: Option<String>,
}

impl AsksPassword for PausePage {
    fn ask_password(&mut self, why: String) {
        self.password_required = true;
        self.password_error = Some(why);
    }
}

fn page(current: &CurrentUser, key: &KeyRow, resume: bool, state: &AppState) -> PausePage {
    let title = if resume { "Resume key" } else { "Pause key" };
    let already = match (resume, key.paused_at.is_some()) {
        _ if key.revoked_at.is_some() => Some(REVOKED_IS_FINAL.to_owned()),
        (true, false) => Some("This key isn't paused.".to_owned()),
        (false, true) => Some("This key is paused already.".to_owned()),
        _ => None,
    };
    PausePage {
        layout: current.layout(title, "api-keys"),
        key_id: key.id,
        name: crate::domain::key_name::visible(&key.name),
        display: key.display(),
        resume,
        can_submit: already.is_none(),
        error: already,
        password_required: resume && reauth::needs_password(current, &state.settings),
        password_error: None,
    }
}

/// `GET /settings/api-keys/{id}/pause`.
pub async fn pause_page(
    id: web::Path<Uuid>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let key = owned_key(&state, &current, id.into_inner()).await?;
    render(&page(&current, &key, false, &state), StatusCode::OK)
}

/// `GET /settings/api-keys/{id}/resume`.
pub async fn resume_page(
    id: web::Path<Uuid>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let key = owned_key(&state, &current, id.into_inner()).await?;
    render(&page(&current, &key, true, &state), StatusCode::OK)
}

/// The pause and resume forms.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct PauseForm {
    /// Only when resuming asks for the password again; never echoed back.
    password: String,
}

/// `POST /settings/api-keys/{id}/pause`: at once, no password.
pub async fn pause(
    req: HttpRequest,
    id: web::Path<Uuid>,
    _form: CsrfForm<PauseForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    change(&req, id.into_inner(), false, "", &current, &session, &state).await
}

/// `POST /settings/api-keys/{id}/resume`: needs a recent password.
pub async fn resume(
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: CsrfForm<PauseForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let password = form.into_inner().password;
    change(
        &req,
        id.into_inner(),
        true,
        &password,
        &current,
        &session,
        &state,
    )
    .await
}

async fn change(
    req: &HttpRequest,
    id: Uuid,
    resume: bool,
    password: &str,
    current: &CurrentUser,
    session: &TypedSession,
    state: &AppState,
) -> Result<HttpResponse, AppError> {
    let key = owned_key(state, current, id).await?;
    if resume {
        let asked = sudo::confirm_loosening(req, session, current, state, password).await?;
        if asked != Reauth::Confirmed {
            return sudo::password_refused(page(current, &key, true, state), &asked);
        }
    }
    let mut conn = state.pool.get().await?;
    let outcome =
        api_keys::set_paused_for_account(&mut conn, current.user.id, id, !resume, &origin(req))
            .await?;
    drop(conn);
    let message = match (&outcome, resume) {
        (PauseOutcome::Changed(row), false) => format!(
            "Paused “{}”: every request with it now gets 401 paused, on every server. Resume it when you're ready.",
            row.name
        ),
        (PauseOutcome::Changed(row), true) => {
            format!(
                "Resumed “{}”: it works again from its next request.",
                row.name
            )
        }
        (PauseOutcome::Unchanged(row), false) => {
            format!("“{}” was paused already; nothing changed.", row.name)
        }
        (PauseOutcome::Unchanged(row), true) => {
            format!("“{}” wasn't paused; nothing changed.", row.name)
        }
        (PauseOutcome::NotFound, _) => return Err(AppError::NotFound),
        (PauseOutcome::Revoked, _) => {
            return render(&page(current, &key, resume, state), StatusCode::CONFLICT);
        }
    };
    session.set_flash(&message)?;
    Ok(see_other(&format!("/settings/api-keys/{id}")))
}
