//! Rate limit: `GET/POST /settings/api-keys/{id}/rate`. An optional number of accepted requests
//! a minute (1 … `APP_KEY_RATE_MAX`), counted across every instance; over it, `/api/v1/me`
//! answers 429 and introspection `refusal: "rate_limited"`. Raising or removing the limit needs
//! the recent password; a lower one never does. Bad input is a 422 with the input kept.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::sudo::{self, AsksPassword, owned_key};
use crate::auth::CurrentUser;
use crate::auth::reauth::Reauth;
use crate::db::api_keys::{self, KeyRow, RateOutcome};
use crate::domain::key_status::REVOKED_IS_FINAL;
use crate::domain::rate::{loosens, parse_limit};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::{Layout, render, see_other};

#[derive(Template)]
#[template(path = "api_keys/rate.html")]
struct RatePage {
    layout: Layout,
    key_id: Uuid,
    name: String,
    display: String,
    error: Option<String>,
    can_submit: bool,
    /// "600 a minute" or "No limit".
    current: String,
    limit_input: String,
    limit_error: Option<String>,
    max: i32,
    password_required: bool,
    password_error: Option<String>,
}

impl AsksPassword for RatePage {
    fn ask_password(&mut self, why: String) {
        self.password_required = true;
        self.password_error = Some(why);
    }
}

fn page(current: &CurrentUser, key: &KeyRow, state: &AppState) -> RatePage {
    let refused = key
        .revoked_at
        .is_some()
        .then(|| REVOKED_IS_FINAL.to_owned());
    RatePage {
        layout: current.layout("Rate limit", "api-keys"),
        key_id: key.id,
        name: crate::domain::key_name::visible(&key.name),
        display: key.display(),
        can_submit: refused.is_none(),
        error: refused,
        current: key.rate_limit.map_or_else(
            || "No limit".to_owned(),
            |n| format!("{n} requests a minute"),
        ),
        limit_input: key.rate_limit.map(|n| n.to_string()).unwrap_or_default(),
        limit_error: None,
        max: state.settings.rate.max,
        password_required: false,
        password_error: None,
    }
}

/// `GET /settings/api-keys/{id}/rate`.
pub async fn show(
    id: web::Path<Uuid>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let key = owned_key(&state, &current, id.into_inner()).await?;
    render(&page(&current, &key, &state), StatusCode::OK)
}

/// The rate form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct RateForm {
    limit: String,
    /// Only when raising or removing asks for the password again; never echoed back.
    password: String,
}

/// `POST /settings/api-keys/{id}/rate`.
pub async fn submit(
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: CsrfForm<RateForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let key = owned_key(&state, &current, id.into_inner()).await?;
    let mut view = page(&current, &key, &state);
    view.limit_input = form.limit.chars().take(20).collect();
    if !view.can_submit {
        return render(&view, StatusCode::CONFLICT);
    }
    let limit = match parse_limit(&form.limit.chars().take(20).collect::<String>(), view.max) {
        Ok(l) => l,
        Err(why) => {
            view.limit_error = Some(why);
            return render(&view, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let loosening = loosens(key.rate_limit, limit);
    if loosening {
        let asked =
            sudo::confirm_loosening(&req, &session, &current, &state, &form.password).await?;
        if asked != Reauth::Confirmed {
            return sudo::password_refused(view, &asked);
        }
    }
    let mut conn = state.pool.get().await?;
    let uid = current.user.id;
    let outcome =
        api_keys::set_rate_for_account(&mut conn, uid, key.id, limit, loosening, &origin(&req))
            .await?;
    drop(conn);
    let message = match outcome {
        RateOutcome::Saved(row) => match row.rate_limit {
            Some(n) => format!(
                "“{}” now accepts at most {n} requests a minute across every server; more get 429.",
                row.name
            ),
            None => format!("“{}” has no rate limit any more.", row.name),
        },
        RateOutcome::Unchanged(row) => {
            format!("“{}” already had that limit; nothing changed.", row.name)
        }
        RateOutcome::NeedsPassword(_) => return sudo::password_refused(view, &Reauth::Needed),
        RateOutcome::Revoked => return render(&view, StatusCode::CONFLICT),
        RateOutcome::NotFound => return Err(AppError::NotFound),
    };
    session.set_flash(&message)?;
    Ok(see_other(&format!("/settings/api-keys/{}", key.id)))
}
