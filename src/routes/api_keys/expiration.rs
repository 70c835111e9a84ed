//! Change expiration: `GET/POST /settings/api-keys/{id}/expiration`. Same choices and
//! validation as create; re-dating an expired key passes the 10-key check. A date that lets
//! the key work longer (later, never, or active again) needs a recent password, like create and
//! roll; an earlier one never does.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::action_page::{Action, FORM_EXPIRED, PageInput, refuse, show};
use super::sudo::{self, owned_key};
use crate::auth::CurrentUser;
use crate::auth::reauth::{self, Reauth};
use crate::db::api_keys::{self, ExpirationOutcome};
use crate::domain::expiration::extends;
use crate::domain::key_status::{REVOKED_IS_FINAL, ROLLING_IS_FINAL};
use crate::domain::time::{local_datetime, zone};
use crate::domain::{Expiration, ExpirationInput, MAX_ACTIVE_KEYS};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::{CheckedForm, TypedSession};
use crate::state::AppState;
use crate::templates::see_other;

/// `GET /settings/api-keys/{id}/expiration`.
pub async fn page(
    id: web::Path<Uuid>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    show(Action::Expiration, id.into_inner(), &current, &state).await
}

/// The change-expiration form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ExpirationForm {
    expiration: String,
    custom_expiration: String,
    /// Only when a later date asks for the password again; never echoed back.
    password: String,
}

/// `POST /settings/api-keys/{id}/expiration`.
pub async fn submit(
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: CheckedForm<ExpirationForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (form, expired) = form.into_parts();
    let tz = zone(&current.user.time_zone);
    let input = ExpirationInput {
        expiration: form.expiration.clone(),
        custom_expiration: form.custom_expiration.clone(),
    };
    let page_input = |error: Option<String>, password: Option<String>| PageInput {
        action: Action::Expiration,
        error,
        new_name: None,
        expiration: Some((form.expiration.as_str(), form.custom_expiration.as_str())),
        password,
    };
    let with_error = |error: String| page_input(Some(error), None);
    // The same page, the choice kept, asking for the password (422, or 429 when throttled).
    let ask = async |asked: &Reauth| {
        let (why, status, retry) = sudo::refusal(asked);
        let res = refuse(&state, &current, id, page_input(None, Some(why)), status).await?;
        Ok::<_, AppError>(sudo::with_retry_after(res, retry))
    };
    if expired {
        let page = with_error(FORM_EXPIRED.to_owned());
        return refuse(&state, &current, id, page, StatusCode::FORBIDDEN).await;
    }
    let now = {
        let mut conn = state.pool.get().await?;
        crate::db::now(&mut conn).await?
    };
    let expiration = match Expiration::parse(&input, now, tz) {
        Ok(e) => e,
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
    // Sudo mode: asked here on the row as read (not for a key that can't change anyway: that
    // gets its 409); the transaction judges the locked row again.
    let before = owned_key(&state, &current, id).await?;
    let may_extend = before.revoked_at.is_none()
        && before.rolled_at.is_none()
        && extends(before.expires_at, expiration.as_option());
    if may_extend {
        let asked = reauth::confirm(&req, &session, &current, &state, &form.password, now).await?;
        if asked != Reauth::Confirmed {
            return ask(&asked).await;
        }
    }
    let mut conn = state.pool.get().await?;
    let outcome = api_keys::set_expiration_for_account(
        &mut conn,
        current.user.id,
        id,
        (expiration.as_option(), input.preset_days()),
        may_extend,
        &origin(&req),
    )
    .await?;
    drop(conn);
    match outcome {
        ExpirationOutcome::Updated(row) => {
            let when = match row.expires_at {
                None => "never expires".to_owned(),
                Some(t) => format!("expires {} ({})", local_datetime(t, tz), tz.name()),
            };
            session.set_flash(&format!("“{}” now {when}.", row.name))?;
            Ok(see_other("/settings/api-keys"))
        }
        ExpirationOutcome::NotFound => Err(AppError::NotFound),
        ExpirationOutcome::Revoked => {
            let msg = REVOKED_IS_FINAL.to_owned();
            refuse(&state, &current, id, with_error(msg), StatusCode::CONFLICT).await
        }
        ExpirationOutcome::Rolling => {
            let msg = ROLLING_IS_FINAL.to_owned();
            refuse(&state, &current, id, with_error(msg), StatusCode::CONFLICT).await
        }
        ExpirationOutcome::NeedsPassword => ask(&Reauth::Needed).await,
        ExpirationOutcome::LimitReached => {
            let msg = format!(
                "You already have {MAX_ACTIVE_KEYS} active keys — revoke one before making this key active again."
            );
            refuse(&state, &current, id, with_error(msg), StatusCode::CONFLICT).await
        }
    }
}
