//! Spend caps: `GET/POST /settings/api-keys/{id}/caps`. For each money-moving scope of the key
//! (today `vm.buy.crypto`), an optional cap per UTC day and per UTC month, in US dollars on the
//! form and cents in the database; the platform asks `POST /api/v1/spend` before it spends.
//! Raising or removing a cap needs the recent password; a lower or a new one never does. The
//! page also shows what was spent today and this month, and the last 20 spends.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::sudo::{self, AsksPassword, owned_key};
use crate::auth::CurrentUser;
use crate::auth::reauth::Reauth;
use crate::db::api_keys::KeyRow;
use crate::db::spend::{self, CapsOutcome};
use crate::domain::Scope;
use crate::domain::key_status::REVOKED_IS_FINAL;
use crate::domain::spend::{Caps, dollars, loosens, parse_dollars};
use crate::domain::time::{local_datetime, zone};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::{Layout, render, see_other};

/// The scope caps apply to (the one money-moving scope there is).
const SCOPE: Scope = Scope::VmBuyCrypto;

/// A spend as the page lists it.
pub struct SpendLine {
    /// "$12.50".
    pub amount: String,
    /// As the platform described it (text).
    pub description: String,
    /// Local time.
    pub when: String,
    /// reserved, refused, voided.
    pub status: String,
}

#[derive(Template)]
#[template(path = "api_keys/caps.html")]
struct CapsPage {
    layout: Layout,
    key_id: Uuid,
    name: String,
    display: String,
    error: Option<String>,
    can_submit: bool,
    moves_money: bool,
    day_input: String,
    month_input: String,
    caps_error: Option<String>,
    spent_day: String,
    spent_month: String,
    cap_day: String,
    cap_month: String,
    spends: Vec<SpendLine>,
    password_required: bool,
    password_error: Option<String>,
}

impl AsksPassword for CapsPage {
    fn ask_password(&mut self, why: String) {
        self.password_required = true;
        self.password_error = Some(why);
    }
}

async fn page(state: &AppState, current: &CurrentUser, key: &KeyRow) -> Result<CapsPage, AppError> {
    let tz = zone(&current.user.time_zone);
    let mut conn = state.pool.get().await?;
    let caps = spend::caps(&mut conn, key.id, SCOPE.as_str()).await?;
    let spent = spend::spent(&mut conn, key.id, SCOPE.as_str()).await?;
    let recent = spend::recent_for_account(&mut conn, current.user.id, key.id, 20).await?;
    let refused = key
        .revoked_at
        .is_some()
        .then(|| REVOKED_IS_FINAL.to_owned());
    let plain = |c: Option<i64>| {
        c.map(|c| format!("{}.{:02}", c / 100, c % 100))
            .unwrap_or_default()
    };
    let shown = |c: Option<i64>| c.map_or_else(|| "no cap".to_owned(), dollars);
    Ok(CapsPage {
        layout: current.layout(format!("Spend caps of {}", key.name), "api-keys"),
        key_id: key.id,
        name: crate::domain::key_name::visible(&key.name),
        display: key.display(),
        can_submit: refused.is_none(),
        error: refused,
        moves_money: key.scopes.contains(&SCOPE),
        day_input: plain(caps.day),
        month_input: plain(caps.month),
        caps_error: None,
        spent_day: dollars(spent.day),
        spent_month: dollars(spent.month),
        cap_day: shown(caps.day),
        cap_month: shown(caps.month),
        spends: recent
            .into_iter()
            .map(|s| SpendLine {
                amount: dollars(s.amount_cents),
                description: crate::domain::key_name::visible(&s.description),
                when: format!("{} ({})", local_datetime(s.created_at, tz), tz.name()),
                status: s.status,
            })
            .collect(),
        password_required: false,
        password_error: None,
    })
}

/// `GET /settings/api-keys/{id}/caps`.
pub async fn show(
    id: web::Path<Uuid>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let key = owned_key(&state, &current, id.into_inner()).await?;
    render(&page(&state, &current, &key).await?, StatusCode::OK)
}

/// The caps form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct CapsForm {
    day: String,
    month: String,
    /// Only when raising or removing asks for the password again; never echoed back.
    password: String,
}

/// `POST /settings/api-keys/{id}/caps`.
pub async fn submit(
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: CsrfForm<CapsForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let key = owned_key(&state, &current, id.into_inner()).await?;
    let mut view = page(&state, &current, &key).await?;
    view.day_input = form.day.chars().take(20).collect();
    view.month_input = form.month.chars().take(20).collect();
    if !view.can_submit {
        return render(&view, StatusCode::CONFLICT);
    }
    let to = match (
        parse_dollars(&view.day_input),
        parse_dollars(&view.month_input),
    ) {
        (Ok(day), Ok(month)) => Caps { day, month },
        (Err(e), _) | (_, Err(e)) => {
            view.caps_error = Some(e);
            return render(&view, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let from = {
        let mut conn = state.pool.get().await?;
        spend::caps(&mut conn, key.id, SCOPE.as_str()).await?
    };
    let loosening = loosens(from, to);
    if loosening {
        let asked =
            sudo::confirm_loosening(&req, &session, &current, &state, &form.password).await?;
        if asked != Reauth::Confirmed {
            return sudo::password_refused(view, &asked);
        }
    }
    let mut conn = state.pool.get().await?;
    let uid = current.user.id;
    let scope = SCOPE.as_str();
    let done =
        spend::set_caps_for_account(&mut conn, uid, key.id, scope, to, loosening, &origin(&req))
            .await?;
    drop(conn);
    match done {
        CapsOutcome::Saved => session.set_flash(&format!(
            "Spend caps of “{}” saved: they apply to the next spend.",
            key.name
        ))?,
        CapsOutcome::Unchanged => session.set_flash(&format!(
            "“{}” already had those caps; nothing changed.",
            key.name
        ))?,
        CapsOutcome::NeedsPassword => return sudo::password_refused(view, &Reauth::Needed),
        CapsOutcome::Revoked => return render(&view, StatusCode::CONFLICT),
        CapsOutcome::NotFound => return Err(AppError::NotFound),
    }
    Ok(see_other(&format!("/settings/api-keys/{}/caps", key.id)))
}
