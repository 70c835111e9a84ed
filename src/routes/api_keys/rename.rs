//! Rename: `GET/POST /settings/api-keys/{id}/name`. Same rules as create; not for revoked keys.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::action_page::{Action, FORM_EXPIRED, PageInput, refuse, show};
use crate::auth::CurrentUser;
use crate::db::api_keys::{self, RenameOutcome};
use crate::domain::KeyName;
use crate::domain::key_status::{REVOKED_IS_FINAL, ROLLING_IS_FINAL};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::{CheckedForm, TypedSession};
use crate::state::AppState;
use crate::templates::see_other;

/// `GET /settings/api-keys/{id}/name`.
pub async fn page(
    id: web::Path<Uuid>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    show(Action::Rename, id.into_inner(), &current, &state).await
}

/// The rename form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct RenameForm {
    name: String,
}

/// `POST /settings/api-keys/{id}/name`.
pub async fn submit(
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: CheckedForm<RenameForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (form, expired) = form.into_parts();
    let raw = form.name;
    let with_error = |error: &str| PageInput {
        action: Action::Rename,
        error: Some(error.to_owned()),
        new_name: Some(raw.as_str()),
        expiration: None,
        password: None,
    };
    if expired {
        let page = with_error(FORM_EXPIRED);
        return refuse(&state, &current, id, page, StatusCode::FORBIDDEN).await;
    }
    let name = match KeyName::parse(&raw) {
        Ok(n) => n,
        Err(msg) => {
            return refuse(
                &state,
                &current,
                id,
                with_error(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let mut conn = state.pool.get().await?;
    let outcome =
        api_keys::rename_for_account(&mut conn, current.user.id, id, name.as_str(), &origin(&req))
            .await?;
    drop(conn);
    match outcome {
        RenameOutcome::Renamed(row) => {
            session.set_flash(&format!("Renamed to “{}”.", row.name))?;
            Ok(see_other("/settings/api-keys"))
        }
        RenameOutcome::NotFound => Err(AppError::NotFound),
        RenameOutcome::Revoked => {
            let msg = REVOKED_IS_FINAL;
            refuse(&state, &current, id, with_error(msg), StatusCode::CONFLICT).await
        }
        RenameOutcome::Rolling => {
            let msg = ROLLING_IS_FINAL;
            refuse(&state, &current, id, with_error(msg), StatusCode::CONFLICT).await
        }
        RenameOutcome::NameTaken => {
            let msg = "Name is already used by another key — choose a different name";
            refuse(
                &state,
                &current,
                id,
                with_error(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
