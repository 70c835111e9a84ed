//! `POST /settings/time-zone`: adopt the browser's zone when the page offers it.

use actix_web::{HttpResponse, web};

use crate::auth::CurrentUser;
use crate::db::users;
use crate::error::AppError;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::see_other;

/// The form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ZoneForm {
    time_zone: String,
}

/// Sets the account's zone (IANA names only) and returns to the keys page.
pub async fn set(
    form: CsrfForm<ZoneForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let name = form.into_inner().time_zone;
    let Ok(tz) = name.trim().parse::<chrono_tz::Tz>() else {
        session.set_flash("That time zone isn't recognised; times stay as they were.")?;
        return Ok(see_other("/settings/api-keys"));
    };
    let mut conn = state.pool.get().await?;
    users::set_time_zone(&mut conn, current.user.id, tz.name()).await?;
    session.set_flash(&format!("Times are now shown in {}.", tz.name()))?;
    Ok(see_other("/settings/api-keys"))
}
