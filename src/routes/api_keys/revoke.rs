//! Revoke: `GET/POST /settings/api-keys/{id}/revoke`. Immediate, permanent and idempotent.

use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::action_page::{Action, show};
use crate::auth::CurrentUser;
use crate::db::api_keys::{self, RevokeOutcome};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::csrf::TokenOnly;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::see_other;

/// `GET /settings/api-keys/{id}/revoke`.
pub async fn page(
    id: web::Path<Uuid>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    show(Action::Revoke, id.into_inner(), &current, &state).await
}

/// `POST /settings/api-keys/{id}/revoke`: immediate and permanent; idempotent.
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
    let uid = current.user.id;
    match api_keys::revoke_for_account(&mut conn, uid, id, uid, &origin(&req)).await? {
        RevokeOutcome::Revoked(name) => {
            session.set_flash(&format!(
                "Revoked “{name}”. Apps using it now get 401 errors."
            ))?;
        }
        RevokeOutcome::AlreadyRevoked(name) => {
            session.set_flash(&format!("“{name}” was already revoked; nothing changed."))?;
        }
        RevokeOutcome::NotFound => return Err(AppError::NotFound),
    }
    Ok(see_other("/settings/api-keys"))
}
