//! `GET /settings/api-keys`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::view::{PageState, render_page};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::session::TypedSession;
use crate::state::AppState;

/// Query of the list.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    show: String,
    activity: String,
}

/// The keys page: eligibility, usage, the list, the create dialog.
pub async fn page(
    query: web::Query<ListQuery>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let page_state = PageState {
        show_all: query.show == "all",
        form: None,
        secret: None,
        notice: None,
        flash: session.take_flash(),
        activity_page: query.activity.parse().unwrap_or(1).clamp(1, 10_000),
    };
    render_page(
        &mut conn,
        &current,
        &state.settings,
        page_state,
        StatusCode::OK,
    )
    .await
}
