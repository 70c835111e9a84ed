//! `GET /settings/wallets`: the account's wallets and whether each qualifies for API keys.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::CurrentUser;
use crate::db::wallets;
use crate::domain::WalletKind;
use crate::domain::time::{local_date, zone};
use crate::domain::wallet::short_address;
use crate::error::AppError;
use crate::startup::AppState;
use crate::templates::{Layout, render};

/// A wallet row.
pub struct WalletView {
    /// Full address (hover and copy).
    pub address: String,
    /// `7xKX…9fQ2`.
    pub short: String,
    /// External / Embedded / Custodial.
    pub kind: &'static str,
    /// Held by the platform: doesn't qualify.
    pub platform_held: bool,
    /// Linked date.
    pub linked: String,
}

#[derive(Template)]
#[template(path = "wallets/page.html")]
struct WalletsPage {
    layout: Layout,
    wallets: Vec<WalletView>,
}

/// The wallets page.
pub async fn page(
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user = &current.user;
    let tz = zone(&user.time_zone);
    let mut conn = state.pool.get().await?;
    let rows = wallets::list_for_account(&mut conn, user.id).await?;
    let mut layout = Layout::new("Wallets", current.csrf.clone());
    layout.user_email = Some(user.email.clone());
    layout.nav = "wallets";
    layout.is_support = current.role == crate::domain::Role::Support;
    let page = WalletsPage {
        layout,
        wallets: rows
            .iter()
            .map(|w| {
                let kind = WalletKind::parse(&w.kind).unwrap_or(WalletKind::Custodial);
                WalletView {
                    address: w.address.clone(),
                    short: short_address(&w.address),
                    kind: kind.label(),
                    platform_held: kind.is_platform_held(),
                    linked: local_date(w.linked_at, tz),
                }
            })
            .collect(),
    };
    render(&page, StatusCode::OK)
}
