//! Unlink a self-custodied wallet: `GET/POST /settings/wallets/{id}/unlink`. The confirmation
//! says when unlinking pauses the account's keys (the last self-custodied wallet).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::db::{api_keys, wallets};
use crate::domain::WalletKind;
use crate::domain::wallet::short_address;
use crate::error::AppError;
use crate::routes::origin;
use crate::session::csrf::TokenOnly;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::{Layout, render, see_other};

#[derive(Template)]
#[template(path = "wallets/unlink.html")]
struct UnlinkPage {
    layout: Layout,
    id: Uuid,
    short: String,
    address: String,
    last_external: bool,
    active_keys: i64,
}

async fn unlink_facts(
    state: &AppState,
    current: &CurrentUser,
    id: Uuid,
) -> Result<(wallets::Wallet, bool, i64), AppError> {
    let mut conn = state.pool.get().await?;
    let w = wallets::find_for_account(&mut conn, current.user.id, id)
        .await?
        .filter(|w| w.kind == WalletKind::External)
        .ok_or(AppError::NotFound)?;
    let externals = wallets::list_for_account(&mut conn, current.user.id)
        .await?
        .iter()
        .filter(|w| w.kind == WalletKind::External)
        .count();
    let active = api_keys::count_active_for_account(&mut conn, current.user.id).await?;
    Ok((w, externals <= 1, active))
}

/// `GET /settings/wallets/{id}/unlink`: the confirmation.
pub async fn page(
    id: web::Path<Uuid>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (w, last_external, active_keys) = unlink_facts(&state, &current, id).await?;
    let page = UnlinkPage {
        layout: current.layout("Wallets", "wallets"),
        id: w.id,
        short: short_address(&w.address),
        address: w.address,
        last_external,
        active_keys,
    };
    render(&page, StatusCode::OK)
}

/// `POST /settings/wallets/{id}/unlink`.
pub async fn submit(
    req: HttpRequest,
    id: web::Path<Uuid>,
    _form: CsrfForm<TokenOnly>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    let removed =
        wallets::unlink_external_for_account(&mut conn, current.user.id, id, &origin(&req))
            .await?
            .ok_or(AppError::NotFound)?;
    let paused = api_keys::eligibility_for_account(
        &mut conn,
        current.user.id,
        current.user.api_keys_enabled,
    )
    .await?
    .keys_paused();
    let mut msg = format!("Unlinked wallet {}.", short_address(&removed.address));
    if paused {
        msg.push_str(" Your API keys are paused until you link a self-custodied wallet again.");
    }
    session.set_flash(&msg)?;
    Ok(see_other("/settings/wallets"))
}
