//! Usage alert rules: `POST /settings/notifications/alerts` adds one (for a key or every key),
//! `POST /settings/notifications/alerts/{id}/delete` removes one.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::{PageState, render_page};
use crate::auth::CurrentUser;
use crate::db::notices::alerts;
use crate::error::AppError;
use crate::session::csrf::TokenOnly;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::see_other;

/// The rule form (strings; parsed here).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct RuleForm {
    key: String,
    kind: String,
    threshold: String,
    min_requests: String,
}

fn number(s: &str, min: i32, max: i32) -> Option<i32> {
    s.trim()
        .parse::<i32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
}

/// Adds a rule; a bad field re-renders the page with 422 and the reason.
pub async fn add(
    form: CsrfForm<RuleForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let parsed = (|| {
        let key = match f.key.as_str() {
            "" | "all" => None,
            k => Some(Uuid::parse_str(k).map_err(|_| "Choose a key, or every key")?),
        };
        let (kind, threshold, min) = match f.kind.as_str() {
            alerts::REQUESTS_PER_HOUR => (
                alerts::REQUESTS_PER_HOUR,
                number(&f.threshold, 1, 100_000_000)
                    .ok_or("Requests per hour must be a whole number from 1 to 100,000,000")?,
                0,
            ),
            alerts::REFUSAL_RATE => (
                alerts::REFUSAL_RATE,
                number(&f.threshold, 1, 99)
                    .ok_or("The refusal rate must be a percentage from 1 to 99")?,
                number(&f.min_requests, 1, 100_000_000).ok_or(
                    "The minimum number of requests must be a whole number from 1 to 100,000,000",
                )?,
            ),
            alerts::RATE_LIMITED => (
                alerts::RATE_LIMITED,
                number(&f.threshold, 1, 100_000_000).ok_or(
                    "Rate-limit refusals per hour must be a whole number from 1 to 100,000,000",
                )?,
                0,
            ),
            _ => return Err("Choose what the alert watches"),
        };
        Ok((key, kind, threshold, min))
    })();
    let refuse = |msg: &str| PageState {
        alert_error: Some(msg.to_owned()),
        ..Default::default()
    };
    let (key, kind, threshold, min) = match parsed {
        Ok(p) => p,
        Err(msg) => {
            return render_page(
                &state,
                &current,
                refuse(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let mut conn = state.pool.get().await?;
    if !alerts::add_for_account(&mut conn, current.user.id, key, kind, threshold, min).await? {
        let msg = "No alert was added: the key isn't one of yours, or you have 20 alerts already";
        return render_page(
            &state,
            &current,
            refuse(msg),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    session.set_flash("Usage alert added.")?;
    Ok(see_other("/settings/notifications"))
}

/// Removes one of the account's rules.
pub async fn delete(
    id: web::Path<Uuid>,
    _form: CsrfForm<TokenOnly>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    if !alerts::delete_for_account(&mut conn, current.user.id, id.into_inner()).await? {
        return Err(AppError::NotFound);
    }
    session.set_flash("Usage alert removed.")?;
    Ok(see_other("/settings/notifications"))
}
