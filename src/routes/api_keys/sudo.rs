//! What the forms that need a recent password share: the message, status and `Retry-After` of
//! a refusal, and loading the key an action page is about.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use askama::Template;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::auth::reauth::{self, Reauth};
use crate::db::api_keys::{self, KeyRow};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::render;

/// The message, status and Retry-After for a password that was not confirmed.
pub(super) fn refusal(asked: &Reauth) -> (String, StatusCode, Option<u64>) {
    match asked {
        Reauth::Throttled(secs) => {
            let minutes = secs.div_ceil(60);
            let plural = if minutes == 1 { "" } else { "s" };
            (
                format!("Too many wrong passwords. Try again in {minutes} minute{plural}."),
                StatusCode::TOO_MANY_REQUESTS,
                Some(*secs),
            )
        }
        Reauth::Wrong => (reauth::WRONG.into(), StatusCode::UNPROCESSABLE_ENTITY, None),
        Reauth::Needed | Reauth::Confirmed => {
            (reauth::ASK.into(), StatusCode::UNPROCESSABLE_ENTITY, None)
        }
    }
}

/// Adds `Retry-After` when the refusal has one.
pub(super) fn with_retry_after(mut res: HttpResponse, retry: Option<u64>) -> HttpResponse {
    if let Some(secs) = retry {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    res
}

/// A page whose form can ask for the password.
pub(super) trait AsksPassword: Template {
    /// Shows the password field with `why` next to it.
    fn ask_password(&mut self, why: String);
}

/// The same page again, asking for the password (422, or 429 when throttled).
pub(super) fn password_refused<P: AsksPassword>(
    mut page: P,
    asked: &Reauth,
) -> Result<HttpResponse, AppError> {
    let (message, status, retry) = refusal(asked);
    page.ask_password(message);
    Ok(with_retry_after(render(&page, status)?, retry))
}

/// One of the account's keys, or 404 (for another account's key as for a missing one).
pub(super) async fn owned_key(
    state: &AppState,
    current: &CurrentUser,
    id: Uuid,
) -> Result<KeyRow, AppError> {
    let mut conn = state.pool.get().await?;
    api_keys::find_for_account(&mut conn, current.user.id, id)
        .await?
        .ok_or(AppError::NotFound)
}
