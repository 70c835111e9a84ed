//! `GET /settings/api-keys/new` (the form as a page, for browsers without JavaScript) and
//! `POST /settings/api-keys` (create; the response shows the secret once).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use uuid::Uuid;

use super::view::{CreateFormView, PageState, SecretView, render_page};
use crate::auth::CurrentUser;
use crate::db::api_keys::{self, CreateOutcome, NewKey};
use crate::domain::time::zone;
use crate::domain::{Expiration, ExpirationInput, KeyName, Scope};
use crate::error::AppError;
use crate::routes::eligibility_view::{ReasonView, reasons};
use crate::routes::origin;
use crate::session::CsrfForm;
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
    let page = NewKeyPage {
        layout,
        reasons: reasons(&eligibility, &state.settings.support_email),
        can_create: eligibility.can_create(),
        form: CreateFormView::fresh(zone(&user.time_zone), Utc::now()),
        user_zone: zone(&user.time_zone).name().to_owned(),
    };
    render(&page, StatusCode::OK)
}

/// The create form's fields, as sent.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct CreateForm {
    name: String,
    expiration: String,
    custom_expiration: String,
    scopes: Vec<String>,
    request_id: String,
}

/// `POST /settings/api-keys`.
pub async fn create(
    req: HttpRequest,
    form: CsrfForm<CreateForm>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
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
    let support = &state.settings.support_email;

    let name = KeyName::parse(&form.name);
    let expiration = Expiration::parse(&expiration_input, now, tz);
    let scopes = Scope::parse_set(&form.scopes);
    // A missing id (a hand-written client) gets a fresh one; a present one must be a UUID.
    let request_id = if form.request_id.trim().is_empty() {
        Ok(Uuid::new_v4())
    } else {
        Uuid::parse_str(form.request_id.trim())
    };

    let (Ok(name), Ok(expiration), Ok(scopes), Ok(request_id)) =
        (&name, &expiration, &scopes, &request_id)
    else {
        let mut view = CreateFormView::with_input(
            &form.name,
            &form.expiration,
            &form.custom_expiration,
            &form.scopes,
            tz,
            now,
        );
        view.name_error = name.as_ref().err().map(|e| e.to_string());
        view.expiration_error = expiration.as_ref().err().cloned();
        view.scopes_error = scopes.as_ref().err().map(|e| e.to_string());
        if request_id.is_err() {
            view.name_error.get_or_insert_with(|| {
                "This form is out of date — check the details and create again".into()
            });
        } else if let Ok(id) = &request_id {
            view.request_id = id.to_string();
        }
        view.open = true;
        let mut conn = state.pool.get().await?;
        let page = PageState {
            show_all: false,
            form: Some(view),
            secret: None,
            notice: None,
            flash: None,
            activity_page: 1,
        };
        return render_page(
            &mut conn,
            &current,
            support,
            page,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };

    let (secret, row) = NewKey::generate(
        &state.key_hasher,
        user.id,
        name,
        scopes.clone(),
        expiration.as_option(),
        *request_id,
    );
    let mut conn = state.pool.get().await?;
    let outcome = api_keys::create_for_account(&mut conn, row, &origin(&req)).await?;

    let (state_, status) = match outcome {
        CreateOutcome::Created(row) => {
            tracing::info!(key_id = %row.id, prefix = %row.prefix, "api key created");
            (
                PageState {
                    show_all: false,
                    form: None,
                    secret: Some(SecretView::new(&secret, &row, tz)),
                    notice: None,
                    flash: None,
                    activity_page: 1,
                },
                StatusCode::OK,
            )
        }
        CreateOutcome::AlreadyCreated(row) => (
            PageState {
                show_all: false,
                form: None,
                secret: None,
                notice: Some(format!(
                    "This form was already submitted, and the key “{}” ({}) was created then. Its secret is shown only once: if you didn't copy it, revoke that key and create a new one.",
                    row.name, row.prefix
                )),
                flash: None,
                activity_page: 1,
            },
            StatusCode::CONFLICT,
        ),
        CreateOutcome::NameTaken => {
            let mut view = CreateFormView::with_input(
                &form.name,
                &form.expiration,
                &form.custom_expiration,
                &form.scopes,
                tz,
                now,
            );
            view.name_error =
                Some("Name is already used by another key — choose a different name".into());
            view.open = true;
            (
                PageState {
                    show_all: false,
                    form: Some(view),
                    secret: None,
                    notice: None,
                    flash: None,
                    activity_page: 1,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        CreateOutcome::NotEligible(e) => (
            PageState {
                show_all: false,
                form: None,
                secret: None,
                notice: Some(format!(
                    "No key was created: this account can't create keys right now ({}).",
                    e.codes().join(", ")
                )),
                flash: None,
                activity_page: 1,
            },
            StatusCode::CONFLICT,
        ),
    };
    let mut res = render_page(&mut conn, &current, support, state_, status).await?;
    // The secret is in this body only: no cache may keep it.
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
