//! `GET /settings/api-keys/new` (the form as a page, for browsers without JavaScript) and
//! `POST /settings/api-keys` (create; the response shows the secret once). Creating a key
//! needs a recently entered password (`auth::reauth`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use uuid::Uuid;

use super::sudo;
use super::view::{CreateFormView, PageState, SecretView, render_page};
use crate::auth::CurrentUser;
use crate::auth::reauth::{self, Reauth};
use crate::db::api_keys::{self, CreateOutcome, KeySpec, NewKey};
use crate::domain::rate::parse_limit;
use crate::domain::time::zone;
use crate::domain::{Expiration, ExpirationInput, KeyName, KeyNote, Scope};
use crate::error::AppError;
use crate::routes::eligibility_view::{ReasonView, reasons};
use crate::routes::origin;
use crate::session::{CheckedForm, TypedSession};
use crate::state::AppState;
use crate::templates::{Layout, render};

/// The create form as its own page.
#[derive(Template)]
#[template(path = "api_keys/new.html")]
struct NewKeyPage {
    layout: Layout,
    reasons: Vec<ReasonView>,
    can_create: bool,
    form: CreateFormView,
    user_zone: String,
}

/// `GET /settings/api-keys/new`.
pub async fn new_form(
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user = &current.user;
    let mut conn = state.pool.get().await?;
    let eligibility =
        api_keys::eligibility_for_account(&mut conn, user.id, user.api_keys_enabled).await?;
    let layout = current.layout("Create API key", "api-keys");
    let mut form = CreateFormView::fresh(zone(&user.time_zone), Utc::now());
    form.password_required = reauth::needs_password(&current, &state.settings);
    let page = NewKeyPage {
        layout,
        reasons: reasons(&eligibility, &state.settings.support_email),
        can_create: eligibility.can_create(),
        form,
        user_zone: zone(&user.time_zone).name().to_owned(),
    };
    render(&page, StatusCode::OK)
}

/// The create form's fields, as sent.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct CreateForm {
    name: String,
    note: String,
    expiration: String,
    custom_expiration: String,
    scopes: Vec<String>,
    request_id: String,
    /// Accepted requests a minute (empty: none).
    rate_limit: String,
    /// Only when the password is asked for again; never echoed back.
    password: String,
}

impl CreateForm {
    fn view(&self, tz: chrono_tz::Tz, now: chrono::DateTime<Utc>) -> CreateFormView {
        let mut view = CreateFormView::with_input(
            &self.name,
            &self.note,
            &self.expiration,
            &self.custom_expiration,
            &self.scopes,
            tz,
            now,
        );
        view.rate_limit = self.rate_limit.chars().take(20).collect();
        view.open = true;
        view
    }
}

/// Shown in the create form sent back because its token no longer matched.
const FORM_EXPIRED: &str = "This form expired before it was sent — nothing was created. Check the details and create again.";

/// `POST /settings/api-keys`.
pub async fn create(
    req: HttpRequest,
    form: CheckedForm<CreateForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let form = match form {
        CheckedForm::Fresh(form) => form,
        CheckedForm::Expired(form) => return expired(&state, &current, &form).await,
    };
    let expiration_input = ExpirationInput {
        expiration: form.expiration.clone(),
        custom_expiration: form.custom_expiration.clone(),
    };
    let user = &current.user;
    let tz = zone(&user.time_zone);
    // "at least a minute ahead" is judged on the database's clock, like every expiry
    let now = {
        let mut conn = state.pool.get().await?;
        crate::db::now(&mut conn).await?
    };
    let settings = &state.settings;
    let fresh = reauth::is_recent(current.authenticated_at, now, settings.reauth_window);

    let name = KeyName::parse(&form.name);
    let note = KeyNote::parse(&form.note);
    let expiration = Expiration::parse(&expiration_input, now, tz);
    let scopes = Scope::parse_set(&form.scopes);
    // A missing id (a hand-written client) gets a fresh one; a present one must be a UUID.
    let request_id = if form.request_id.trim().is_empty() {
        Ok(Uuid::new_v4())
    } else {
        Uuid::parse_str(form.request_id.trim())
    };

    let rate_limit = parse_limit(
        &form.rate_limit.chars().take(20).collect::<String>(),
        state.settings.rate.max,
    );
    let (Ok(name), Ok(note), Ok(expiration), Ok(scopes), Ok(request_id), Ok(rate_limit)) =
        (&name, &note, &expiration, &scopes, &request_id, &rate_limit)
    else {
        let mut view = form.view(tz, now);
        view.rate_limit_error = rate_limit.as_ref().err().cloned();
        view.name_error = name.as_ref().err().map(|e| e.to_string());
        view.note_error = note.as_ref().err().map(|e| e.to_string());
        view.expiration_error = expiration.as_ref().err().cloned();
        view.scopes_error = scopes.as_ref().err().map(|e| e.to_string());
        view.password_required = !fresh;
        if request_id.is_err() {
            view.name_error.get_or_insert_with(|| {
                "This form is out of date — check the details and create again".into()
            });
        } else if let Ok(id) = &request_id {
            view.request_id = id.to_string();
        }
        return form_again(&state, &current, view, StatusCode::UNPROCESSABLE_ENTITY).await;
    };

    let asked = reauth::confirm(&req, &session, &current, &state, &form.password, now).await?;
    if asked != Reauth::Confirmed {
        let mut view = form.view(tz, now);
        view.request_id = request_id.to_string();
        view.password_required = true;
        let (message, status, retry) = sudo::refusal(&asked);
        view.password_error = Some(message);
        let res = form_again(&state, &current, view, status).await?;
        return Ok(sudo::with_retry_after(res, retry));
    }

    let expiry_days = expiration_input.preset_days();
    let mut spec = KeySpec::new(name, note, scopes.clone(), *expiration, expiry_days);
    spec.rate_limit = *rate_limit;
    let (secret, row) = NewKey::generate(&state.key_hasher, user.id, spec, *request_id);
    let mut conn = state.pool.get().await?;
    let outcome = api_keys::create_for_account(&mut conn, row, &origin(&req)).await?;

    let (page, status) = match outcome {
        CreateOutcome::Created(row) => {
            tracing::info!(key_id = %row.id, prefix = %row.prefix, "api key created");
            let secret = Some(SecretView::new(&secret, &row, tz));
            (
                PageState {
                    secret,
                    ..Default::default()
                },
                StatusCode::OK,
            )
        }
        CreateOutcome::AlreadyCreated(row) => (
            PageState {
                notice: Some(format!(
                    "This form was already submitted, and the key “{}” ({}) was created then. Its secret is shown only once: if you didn't copy it, revoke that key and create a new one.",
                    row.name,
                    row.display()
                )),
                ..Default::default()
            },
            StatusCode::CONFLICT,
        ),
        CreateOutcome::NameTaken => {
            let mut view = form.view(tz, now);
            view.name_error =
                Some("Name is already used by another key — choose a different name".into());
            let form = Some(view);
            (
                PageState {
                    form,
                    ..Default::default()
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        CreateOutcome::NotEligible(e) => (
            PageState {
                notice: Some(format!(
                    "No key was created: this account can't create keys right now ({}).",
                    e.codes().join(", ")
                )),
                ..Default::default()
            },
            StatusCode::CONFLICT,
        ),
    };
    let mut res = render_page(&mut conn, &current, settings, page, status).await?;
    // The secret is in this body only: no cache may keep it, and it is not compressed.
    crate::templates::mark_secret_bearing(&mut res);
    Ok(res)
}

/// The create form again as it was sent (403), with the page's current token: nothing is
/// created, and the password, if one was asked for, is not looked at.
async fn expired(
    state: &AppState,
    current: &CurrentUser,
    form: &CreateForm,
) -> Result<HttpResponse, AppError> {
    let mut view = form.view(zone(&current.user.time_zone), Utc::now());
    // The same id: the form stays one request however often it is sent.
    if let Ok(id) = Uuid::parse_str(form.request_id.trim()) {
        view.request_id = id.to_string();
    }
    view.form_error = Some(FORM_EXPIRED.into());
    form_again(state, current, view, StatusCode::FORBIDDEN).await
}

/// The keys page with the create dialog open on the user's input.
async fn form_again(
    state: &AppState,
    current: &CurrentUser,
    view: CreateFormView,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let page = PageState {
        form: Some(view),
        ..Default::default()
    };
    render_page(&mut conn, current, &state.settings, page, status).await
}
