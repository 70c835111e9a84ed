//! `GET /settings/notifications` and `POST /settings/notifications` (the switches).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::{PageState, render_page};
use crate::auth::CurrentUser;
use crate::db::notices::prefs;
use crate::domain::notice::{Channel, EventType};
use crate::error::AppError;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::see_other;

/// The page.
pub async fn page(
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let page = PageState {
        flash: session.take_flash(),
        ..Default::default()
    };
    render_page(&state, &current, page, StatusCode::OK).await
}

/// Saves every switch: a checked box (`event.channel=on`) is on, a missing one off. Unknown
/// fields are ignored (the body itself is size-limited).
pub async fn save(
    form: CsrfForm<Vec<(String, String)>>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let fields = form.into_inner();
    let on = |e: EventType, c: Channel| {
        let name = format!("{}.{}", e.as_str(), c.as_str());
        fields.iter().any(|(k, v)| *k == name && v == "on")
    };
    let mut conn = state.pool.get().await?;
    prefs::save_for_account(&mut conn, current.user.id, on).await?;
    session.set_flash("Notification settings saved.")?;
    Ok(see_other("/settings/notifications"))
}
