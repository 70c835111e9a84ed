//! What the key edit forms share: the message, status and `Retry-After` of a password refusal,
//! loading the key an action page is about, and checking a one-value edit (note, scopes).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::auth::reauth::Reauth;
pub(super) use crate::auth::reauth::{refusal, with_retry_after};
use crate::db::api_keys::{self, KeyRow};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::render;

/// Whether the recent password is confirmed for a loosening (on the database's clock): recent
/// enough already, or `password` from the form is right.
pub(super) async fn confirm_loosening(
    req: &actix_web::HttpRequest,
    session: &crate::session::TypedSession,
    current: &CurrentUser,
    state: &AppState,
    password: &str,
) -> Result<Reauth, AppError> {
    let now = {
        let mut conn = state.pool.get().await?;
        crate::db::now(&mut conn).await?
    };
    crate::auth::reauth::confirm(req, session, current, state, password, now).await
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

/// A key's edit page for one value (note, scopes).
pub(super) trait EditsValue: Template {
    /// Whether the key may still change (not revoked, not rolling).
    fn can_submit(&self) -> bool;
    /// Shows `why` beside the value's field.
    fn value_error(&mut self, why: String);
}

/// The page and the parsed value of an edit form; or, as `Err`, the page again: 409 when the
/// key can no longer change (the value is not even parsed), 422 with the parse error beside
/// the field.
// The `Err` is a finished response, moved once per refused form: its size does not matter.
#[allow(clippy::result_large_err)]
pub(super) fn parsed<P: EditsValue, T>(
    mut page: P,
    parse: impl FnOnce() -> Result<T, &'static str>,
) -> Result<(P, T), Result<HttpResponse, AppError>> {
    if !page.can_submit() {
        return Err(render(&page, StatusCode::CONFLICT));
    }
    match parse() {
        Ok(value) => Ok((page, value)),
        Err(why) => {
            page.value_error(why.to_owned());
            Err(render(&page, StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}
