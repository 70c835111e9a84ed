//! `GET /settings/wallets`.

use actix_web::{HttpResponse, web};

use super::{PageState, render_page};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::session::TypedSession;
use crate::state::AppState;

/// The list, the link form, and the previous action's message.
pub async fn page(
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let page = PageState {
        flash: session.take_flash(),
        ..PageState::ok()
    };
    render_page(&state, &current, page).await
}
