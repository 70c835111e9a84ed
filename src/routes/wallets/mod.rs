//! `/settings/wallets`: list the account's wallets (`list`), link a self-custodied one by
//! signing a one-time challenge (`challenge`, then `link`), unlink one (`unlink`). Platform
//! wallets (embedded, custodial) are listed with their kind and can be neither linked nor
//! unlinked here. Every handler renders the one page through `PageState`.

pub mod challenge;
pub mod link;
pub mod list;
pub mod unlink;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::db::audit::{self, NewEvent};
use crate::db::wallets::{self, Challenge};
use crate::domain::time::{local_date, local_datetime, zone};
use crate::domain::wallet::short_address;
use crate::domain::{AuditAction, limits};
use crate::error::AppError;
use crate::routes::origin;
use crate::state::AppState;
use crate::templates::{Layout, render};

/// A wallet row.
pub struct WalletView {
    /// Row id.
    pub id: Uuid,
    /// Full address (hover and copy).
    pub address: String,
    /// `7xKX…9fQ2`.
    pub short: String,
    /// External / Embedded / Custodial.
    pub kind: &'static str,
    /// Held by the platform: doesn't qualify, can't be unlinked here.
    pub platform_held: bool,
    /// Linked date.
    pub linked: String,
}

/// A challenge waiting for a signature.
pub struct ChallengeView {
    /// Id (hidden field).
    pub id: Uuid,
    /// Address being linked.
    pub address: String,
    /// Exact text to sign.
    pub message: String,
    /// "valid until 14:10 (UTC)".
    pub valid_until: String,
}

impl ChallengeView {
    fn new(c: &Challenge, current: &CurrentUser) -> Self {
        let tz = zone(&current.user.time_zone);
        Self {
            id: c.id,
            address: c.address.clone(),
            message: c.message.clone(),
            valid_until: format!("{} ({})", local_datetime(c.expires_at, tz), tz.name()),
        }
    }
}

#[derive(Template)]
#[template(path = "wallets/page.html")]
struct WalletsPage {
    layout: Layout,
    wallets: Vec<WalletView>,
    challenge: Option<ChallengeView>,
    address_input: String,
    error: Option<String>,
    signature_input: String,
    signature_invalid: bool,
}

/// What one rendering of the wallets page shows besides the list.
pub struct PageState {
    /// One-time message from the previous action.
    pub flash: Option<String>,
    /// A challenge to sign.
    pub challenge: Option<ChallengeView>,
    /// The address field's value.
    pub address_input: String,
    /// What went wrong, with the next step.
    pub error: Option<String>,
    /// The signature as pasted, kept when it was refused.
    pub signature_input: String,
    /// The signature was refused (the field is marked invalid).
    pub signature_invalid: bool,
    /// The response status.
    pub status: StatusCode,
}

impl PageState {
    /// The plain page.
    pub fn ok() -> Self {
        Self {
            flash: None,
            challenge: None,
            address_input: String::new(),
            error: None,
            signature_input: String::new(),
            signature_invalid: false,
            status: StatusCode::OK,
        }
    }

    /// A refusal: the message, the address to keep in the field, the status.
    pub fn refused(error: impl Into<String>, address: &str, status: StatusCode) -> Self {
        Self {
            error: Some(error.into()),
            address_input: address.trim().chars().take(limits::ADDRESS).collect(),
            status,
            ..Self::ok()
        }
    }
}

/// Renders the page: the account's wallets plus what `page` adds.
pub async fn render_page(
    state: &AppState,
    current: &CurrentUser,
    page: PageState,
) -> Result<HttpResponse, AppError> {
    let tz = zone(&current.user.time_zone);
    let mut conn = state.pool.get().await?;
    let rows = wallets::list_for_account(&mut conn, current.user.id).await?;
    let mut layout = current.layout("Wallets", "wallets");
    layout.flash = page.flash;
    layout.extra_js = crate::templates::WALLET_JS.path.as_str();
    let view = WalletsPage {
        layout,
        wallets: rows
            .iter()
            .map(|w| WalletView {
                id: w.id,
                address: w.address.clone(),
                short: short_address(&w.address),
                kind: w.kind.label(),
                platform_held: w.kind.is_platform_held(),
                linked: local_date(w.linked_at, tz),
            })
            .collect(),
        challenge: page.challenge,
        address_input: page.address_input,
        error: page.error,
        signature_input: page.signature_input,
        signature_invalid: page.signature_invalid,
    };
    render(&view, page.status)
}

/// Records a refused link attempt in the account's trail (`reason` is a stable code).
pub async fn record_failure(
    state: &AppState,
    req: &HttpRequest,
    account: Uuid,
    address: &str,
    reason: &str,
) -> Result<(), AppError> {
    let mut conn = state.pool.get().await?;
    let address: String = address.trim().chars().take(limits::ADDRESS).collect();
    audit::record(
        &mut conn,
        NewEvent {
            account_id: Some(account),
            actor_id: Some(account),
            action: AuditAction::WalletLinkFailed,
            key_id: None,
            detail: serde_json::json!({ "address": address, "reason": reason }),
        },
        &origin(req),
    )
    .await?;
    Ok(())
}
