//! Edit scopes: `GET/POST /settings/api-keys/{id}/scopes`. Narrow or widen what a key that is
//! neither revoked nor rolling may do (at least one scope); the next verification sees the new
//! set. Widening needs a recent password, narrowing never does.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::sudo::{self, AsksPassword, EditsValue, owned_key};
use super::view::ScopeView;
use crate::auth::CurrentUser;
use crate::auth::reauth::Reauth;
use crate::db::api_keys::{self, KeyRow, ScopesOutcome, edit::widens};
use crate::domain::Scope;
use crate::domain::key_status::{REVOKED_IS_FINAL, ROLLING_IS_FINAL};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::{Layout, render, see_other};

/// The edit-scopes page.
#[derive(Template)]
#[template(path = "api_keys/scopes.html")]
struct ScopesPage {
    layout: Layout,
    key_id: Uuid,
    name: String,
    display: String,
    error: Option<String>,
    can_submit: bool,
    scopes: Vec<ScopeView>,
    scopes_error: Option<String>,
    password_required: bool,
    password_error: Option<String>,
}

fn refusal(key: &KeyRow) -> Option<&'static str> {
    if key.revoked_at.is_some() {
        Some(REVOKED_IS_FINAL)
    } else if key.rolled_at.is_some() {
        Some(ROLLING_IS_FINAL)
    } else {
        None
    }
}

fn page(current: &CurrentUser, key: &KeyRow, checked: &[String]) -> ScopesPage {
    ScopesPage {
        layout: current.layout("Edit scopes", "api-keys"),
        key_id: key.id,
        name: crate::domain::key_name::visible(&key.name),
        display: key.display(),
        error: refusal(key).map(str::to_owned),
        can_submit: refusal(key).is_none(),
        scopes: Scope::ALL
            .iter()
            .map(|s| ScopeView {
                value: s.as_str(),
                description: s.description(),
                checked: checked.iter().any(|v| v == s.as_str()),
            })
            .collect(),
        scopes_error: None,
        password_required: false,
        password_error: None,
    }
}

/// `GET /settings/api-keys/{id}/scopes`.
pub async fn show(
    id: web::Path<Uuid>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let key = owned_key(&state, &current, id.into_inner()).await?;
    let checked: Vec<String> = key.scopes.iter().map(|s| s.as_str().to_owned()).collect();
    render(&page(&current, &key, &checked), StatusCode::OK)
}

/// The edit-scopes form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ScopesForm {
    scopes: Vec<String>,
    /// Only when widening asks for the password again; never echoed back.
    password: String,
}

/// `POST /settings/api-keys/{id}/scopes`.
pub async fn submit(
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: CsrfForm<ScopesForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let key = owned_key(&state, &current, id.into_inner()).await?;
    let (view, scopes) = match sudo::parsed(page(&current, &key, &form.scopes), || {
        Scope::parse_set(&form.scopes)
    }) {
        Ok(parsed) => parsed,
        Err(res) => return res,
    };
    if widens(&key.scopes, &scopes) {
        let asked =
            sudo::confirm_loosening(&req, &session, &current, &state, &form.password).await?;
        if asked != Reauth::Confirmed {
            return sudo::password_refused(view, &asked);
        }
    }
    let mut conn = state.pool.get().await?;
    let uid = current.user.id;
    match api_keys::set_scopes_for_account(&mut conn, uid, key.id, &scopes, &origin(&req)).await? {
        ScopesOutcome::Saved(row) => {
            let list = Scope::joined(&row.scopes, ", ");
            session.set_flash(&format!(
                "“{}” may now use {list}, from its next request.",
                row.name
            ))?;
        }
        ScopesOutcome::Unchanged(row) => {
            session.set_flash(&format!(
                "“{}” already had those scopes; nothing changed.",
                row.name
            ))?;
        }
        ScopesOutcome::NotFound => return Err(AppError::NotFound),
        ScopesOutcome::Revoked | ScopesOutcome::Rolling => {
            drop(conn);
            let key = owned_key(&state, &current, key.id).await?;
            return render(&page(&current, &key, &form.scopes), StatusCode::CONFLICT);
        }
    }
    Ok(see_other(&format!("/settings/api-keys/{}", key.id)))
}

impl AsksPassword for ScopesPage {
    fn ask_password(&mut self, why: String) {
        self.password_required = true;
        self.password_error = Some(why);
    }
}

impl EditsValue for ScopesPage {
    fn can_submit(&self) -> bool {
        self.can_submit
    }
    fn value_error(&mut self, why: String) {
        self.scopes_error = Some(why);
    }
}
