//! Edit note: `GET/POST /settings/api-keys/{id}/note`. What the key is for, 0–280 characters,
//! for any key that is not revoked.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::sudo::{self, EditsValue, owned_key};
use crate::auth::CurrentUser;
use crate::db::api_keys::{self, KeyRow, NoteOutcome};
use crate::domain::KeyNote;
use crate::domain::key_status::REVOKED_IS_FINAL;
use crate::error::AppError;
use crate::routes::origin;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::{Layout, render, see_other};

/// The edit-note page.
#[derive(Template)]
#[template(path = "api_keys/note.html")]
struct NotePage {
    layout: Layout,
    key_id: Uuid,
    name: String,
    display: String,
    error: Option<String>,
    can_submit: bool,
    note: String,
    note_error: Option<String>,
}

fn page(current: &CurrentUser, key: &KeyRow, note: &str) -> NotePage {
    let revoked = key.revoked_at.is_some();
    NotePage {
        layout: current.layout("Edit note", "api-keys"),
        key_id: key.id,
        name: crate::domain::key_name::visible(&key.name),
        display: key.display(),
        error: revoked.then(|| REVOKED_IS_FINAL.to_owned()),
        can_submit: !revoked,
        note: note.to_owned(),
        note_error: None,
    }
}

/// `GET /settings/api-keys/{id}/note`.
pub async fn show(
    id: web::Path<Uuid>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let key = owned_key(&state, &current, id.into_inner()).await?;
    render(&page(&current, &key, &key.note), StatusCode::OK)
}

/// The edit-note form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct NoteForm {
    note: String,
}

/// `POST /settings/api-keys/{id}/note`.
pub async fn submit(
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: CsrfForm<NoteForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let key = owned_key(&state, &current, id.into_inner()).await?;
    let note = match sudo::parsed(page(&current, &key, &form.note), || {
        KeyNote::parse(&form.note)
    }) {
        Ok((_, note)) => note,
        Err(res) => return res,
    };
    let mut conn = state.pool.get().await?;
    let uid = current.user.id;
    match api_keys::set_note_for_account(&mut conn, uid, key.id, &note, &origin(&req)).await? {
        NoteOutcome::Saved(row) => {
            let what = if row.note.is_empty() {
                "removed"
            } else {
                "saved"
            };
            session.set_flash(&format!("Note of “{}” {what}.", row.name))?;
        }
        NoteOutcome::NotFound => return Err(AppError::NotFound),
        NoteOutcome::Revoked => {
            drop(conn);
            let key = owned_key(&state, &current, key.id).await?;
            return render(&page(&current, &key, &form.note), StatusCode::CONFLICT);
        }
    }
    Ok(see_other(&format!("/settings/api-keys/{}", key.id)))
}

impl EditsValue for NotePage {
    fn can_submit(&self) -> bool {
        self.can_submit
    }
    fn value_error(&mut self, why: String) {
        self.note_error = Some(why);
    }
}
