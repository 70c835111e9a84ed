//! `GET /settings/notifications` and `POST /settings/notifications` (the switches; switching a
//! security event off needs a recent password).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{PageState, render_page};
use crate::auth::CurrentUser;
use crate::auth::reauth::{self, Reauth};
use crate::db::notices::prefs;
use crate::domain::notice::{Channel, EventType, silences_security};
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
/// fields are ignored (the body itself is size-limited). Switching a security event off needs
/// a recent password (`silences_security`): without one nothing is saved and the form comes
/// back as sent, asking for it (`password` then continues).
pub async fn save(
    req: HttpRequest,
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
    let before = prefs::for_account(&mut conn, current.user.id).await?;
    if silences_security(|e, c| before.on(e, c), on) {
        let now = crate::db::now(&mut conn).await?;
        drop(conn);
        let password = fields
            .iter()
            .find(|(k, _)| k == "password")
            .map_or("", |(_, v)| v.as_str());
        let asked = reauth::confirm(&req, &session, &current, &state, password, now).await?;
        if asked != Reauth::Confirmed {
            let (why, status, retry) = reauth::refusal(&asked);
            let sent = EventType::ALL
                .iter()
                .flat_map(|e| Channel::ALL.iter().map(move |c| (*e, *c)))
                .map(|(e, c)| (e, c, on(e, c)))
                .collect();
            let page = PageState {
                switches: Some(sent),
                switches_password: Some(why),
                ..Default::default()
            };
            let res = render_page(&state, &current, page, status).await?;
            return Ok(reauth::with_retry_after(res, retry));
        }
        conn = state.pool.get().await?;
    }
    prefs::save_for_account(&mut conn, current.user.id, on).await?;
    session.set_flash("Notification settings saved.")?;
    Ok(see_other("/settings/notifications"))
}
