//! Delete: `GET/POST /settings/api-keys/{id}/delete`. Only revoked or expired keys; the audit
//! events stay.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::action_page::{Action, PageInput, refuse, show};
use crate::auth::CurrentUser;
use crate::db::api_keys::{self, DeleteOutcome};
use crate::domain::key_status::REVOKE_BEFORE_DELETE;
use crate::error::AppError;
use crate::routes::origin;
use crate::session::csrf::TokenOnly;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::see_other;

/// `GET /settings/api-keys/{id}/delete`.
pub async fn page(
    id: web::Path<Uuid>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    show(Action::Delete, id.into_inner(), &current, &state).await
}

/// `POST /settings/api-keys/{id}/delete`: only revoked or expired keys.
pub async fn submit(
    req: HttpRequest,
    id: web::Path<Uuid>,
    _form: CsrfForm<TokenOnly>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    let outcome =
        api_keys::delete_for_account(&mut conn, current.user.id, id, &origin(&req)).await?;
    drop(conn);
    match outcome {
        DeleteOutcome::Deleted(name) => {
            session.set_flash(&format!(
                "Deleted “{name}”. Its history stays in your activity."
            ))?;
            Ok(see_other("/settings/api-keys?show=all"))
        }
        DeleteOutcome::StillActive => {
            let input = PageInput {
                action: Action::Delete,
                error: Some(REVOKE_BEFORE_DELETE.into()),
                new_name: None,
                expiration: None,
                password: None,
            };
            refuse(&state, &current, id, input, StatusCode::CONFLICT).await
        }
        DeleteOutcome::NotFound => Err(AppError::NotFound),
    }
}
