//! `/settings/wallets`: list the account's wallets, link a self-custodied one by signing a
//! one-time challenge, unlink one. Platform wallets (embedded, custodial) are listed with
//! their kind and can be neither linked nor unlinked here.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Duration;
use rand::distr::{Alphanumeric, SampleString};
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::db::api_keys;
use crate::db::audit::{self, NewEvent};
use crate::db::wallets::{self, LinkOutcome};
use crate::domain::WalletKind;
use crate::domain::time::{local_date, local_datetime, zone};
use crate::domain::wallet::{WalletAddress, challenge_message, short_address};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::csrf::TokenOnly;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::{Layout, render, see_other};

/// How long a challenge may be signed.
const CHALLENGE_TTL: Duration = Duration::minutes(10);

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

#[derive(Template)]
#[template(path = "wallets/page.html")]
struct WalletsPage {
    layout: Layout,
    wallets: Vec<WalletView>,
    challenge: Option<ChallengeView>,
    address_input: String,
    error: Option<String>,
}

fn layout(current: &CurrentUser, flash: Option<String>) -> Layout {
    let mut layout = current.layout("Wallets", "wallets");
    layout.flash = flash;
    layout
}

async fn render_page(
    state: &AppState,
    current: &CurrentUser,
    flash: Option<String>,
    challenge: Option<ChallengeView>,
    address_input: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let tz = zone(&current.user.time_zone);
    let mut conn = state.pool.get().await?;
    let rows = wallets::list_for_account(&mut conn, current.user.id).await?;
    let page = WalletsPage {
        layout: layout(current, flash),
        wallets: rows
            .iter()
            .map(|w| {
                let kind = WalletKind::parse(&w.kind).unwrap_or(WalletKind::Custodial);
                WalletView {
                    id: w.id,
                    address: w.address.clone(),
                    short: short_address(&w.address),
                    kind: kind.label(),
                    platform_held: kind.is_platform_held(),
                    linked: local_date(w.linked_at, tz),
                }
            })
            .collect(),
        challenge,
        address_input,
        error,
    };
    render(&page, status)
}

/// `GET /settings/wallets`.
pub async fn page(
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    render_page(
        &state,
        &current,
        session.take_flash(),
        None,
        String::new(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The address form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct AddressForm {
    address: String,
}

async fn record_failure(
    state: &AppState,
    req: &HttpRequest,
    account: Uuid,
    address: &str,
    reason: &str,
) -> Result<(), AppError> {
    let mut conn = state.pool.get().await?;
    audit::record(
        &mut conn,
        NewEvent {
            account_id: Some(account),
            actor_id: Some(account),
            action: "wallet.link_failed",
            key_id: None,
            detail: serde_json::json!({ "address": address.chars().take(64).collect::<String>(), "reason": reason }),
        },
        &origin(req),
    )
    .await?;
    Ok(())
}

/// `POST /settings/wallets/challenge`: issues a one-time message for the address.
pub async fn challenge(
    req: HttpRequest,
    form: CsrfForm<AddressForm>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let raw = form.into_inner().address;
    let address = match WalletAddress::parse(&raw) {
        Ok(a) => a,
        Err(msg) => {
            return render_page(
                &state,
                &current,
                None,
                None,
                raw.trim().to_owned(),
                Some(msg.into()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let mut conn = state.pool.get().await?;
    if let Some(owner) = wallets::address_linked(&mut conn, address.as_str()).await? {
        drop(conn);
        let msg = if owner == current.user.id {
            "This wallet is already linked to your account."
        } else {
            "This wallet is already linked to another account. One wallet can belong to one account only."
        };
        record_failure(
            &state,
            &req,
            current.user.id,
            address.as_str(),
            "address_taken",
        )
        .await?;
        return render_page(
            &state,
            &current,
            None,
            None,
            address.as_str().to_owned(),
            Some(msg.into()),
            StatusCode::CONFLICT,
        )
        .await;
    }
    // The domain is configuration (`APP_PUBLIC_URL`), never a request header: a forged
    // `Host`/`X-Forwarded-Host` must not put a phishing site's name into the signed text.
    let public = &state.settings.public_url;
    let now = crate::db::now(&mut conn).await?;
    let nonce = Alphanumeric.sample_string(&mut rand::rng(), 16);
    let message = challenge_message(
        &public.scheme,
        &public.authority,
        &address,
        &current.user.email,
        &nonce,
        now,
        now + CHALLENGE_TTL,
    );
    let c = wallets::insert_challenge(
        &mut conn,
        current.user.id,
        address.as_str(),
        &message,
        now,
        now + CHALLENGE_TTL,
    )
    .await?;
    drop(conn);
    let tz = zone(&current.user.time_zone);
    let view = ChallengeView {
        id: c.id,
        address: c.address,
        message: c.message,
        valid_until: format!("{} ({})", local_datetime(c.expires_at, tz), tz.name()),
    };
    render_page(
        &state,
        &current,
        None,
        Some(view),
        String::new(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The link form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct LinkForm {
    challenge_id: String,
    address: String,
    signature: String,
}

/// `POST /settings/wallets`: verifies the signature and links the wallet.
pub async fn link(
    req: HttpRequest,
    form: CsrfForm<LinkForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let uid = current.user.id;
    let tz = zone(&current.user.time_zone);
    let mut conn = state.pool.get().await?;
    let found = match Uuid::parse_str(form.challenge_id.trim()) {
        Ok(id) => wallets::find_challenge_for_account(&mut conn, uid, id).await?,
        Err(_) => None,
    };
    drop(conn);
    let Some((ch, expired)) = found else {
        record_failure(&state, &req, uid, &form.address, "unknown_challenge").await?;
        let msg =
            "That linking request isn't valid any more. Start again with your wallet address.";
        return render_page(
            &state,
            &current,
            None,
            None,
            form.address.trim().to_owned(),
            Some(msg.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let again = |error: &str| {
        (
            Some(ChallengeView {
                id: ch.id,
                address: ch.address.clone(),
                message: ch.message.clone(),
                valid_until: format!("{} ({})", local_datetime(ch.expires_at, tz), tz.name()),
            }),
            Some(error.to_owned()),
        )
    };
    let refusal: Option<(&str, &str, bool)> = if ch.used_at.is_some() {
        Some((
            "reused_challenge",
            "This linking request was already used. Start again with your wallet address.",
            false,
        ))
    } else if expired {
        Some((
            "expired_challenge",
            "This linking request expired (they last 10 minutes). Start again with your wallet address.",
            false,
        ))
    } else if form.address.trim() != ch.address {
        Some((
            "different_address",
            "The signature must come from the wallet you started linking. Start again to link a different address.",
            true,
        ))
    } else {
        None
    };
    if let Some((code, msg, keep)) = refusal {
        record_failure(&state, &req, uid, &ch.address, code).await?;
        let (challenge, error) = if keep {
            again(msg)
        } else {
            (None, Some(msg.to_owned()))
        };
        return render_page(
            &state,
            &current,
            None,
            challenge,
            ch.address.clone(),
            error,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let address = WalletAddress::parse(&ch.address)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored address invalid: {e}")))?;
    if let Err(e) = address.verify(ch.message.as_bytes(), &form.signature) {
        record_failure(&state, &req, uid, &ch.address, "bad_signature").await?;
        let (challenge, error) = again(&e.to_string());
        return render_page(
            &state,
            &current,
            None,
            challenge,
            String::new(),
            error,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let mut conn = state.pool.get().await?;
    let outcome =
        wallets::link_external_for_account(&mut conn, uid, ch.id, address.as_str(), &origin(&req))
            .await?;
    drop(conn);
    match outcome {
        LinkOutcome::Linked(w) => {
            session.set_flash(&format!(
                "Linked wallet {}. It qualifies your account for API keys.",
                short_address(&w.address)
            ))?;
            Ok(see_other("/settings/wallets"))
        }
        LinkOutcome::ChallengeUsed => {
            let msg =
                "This linking request was already used. Start again with your wallet address.";
            render_page(
                &state,
                &current,
                None,
                None,
                String::new(),
                Some(msg.into()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        LinkOutcome::AddressTaken => {
            record_failure(&state, &req, uid, address.as_str(), "address_taken").await?;
            let msg = "This wallet is already linked to an account. One wallet can belong to one account only.";
            render_page(
                &state,
                &current,
                None,
                None,
                String::new(),
                Some(msg.into()),
                StatusCode::CONFLICT,
            )
            .await
        }
    }
}

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
        .filter(|w| w.kind == "external")
        .ok_or(AppError::NotFound)?;
    let externals = wallets::list_for_account(&mut conn, current.user.id)
        .await?
        .iter()
        .filter(|w| w.kind == "external")
        .count();
    let active = api_keys::count_active_for_account(&mut conn, current.user.id).await?;
    Ok((w, externals <= 1, active))
}

/// `GET /settings/wallets/{id}/unlink`: the confirmation.
pub async fn unlink_page(
    path: web::Path<String>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = Uuid::parse_str(&path).map_err(|_| AppError::NotFound)?;
    let (w, last_external, active_keys) = unlink_facts(&state, &current, id).await?;
    let page = UnlinkPage {
        layout: layout(&current, None),
        id: w.id,
        short: short_address(&w.address),
        address: w.address,
        last_external,
        active_keys,
    };
    render(&page, StatusCode::OK)
}

/// `POST /settings/wallets/{id}/unlink`.
pub async fn unlink(
    req: HttpRequest,
    path: web::Path<String>,
    _form: CsrfForm<TokenOnly>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = Uuid::parse_str(&path).map_err(|_| AppError::NotFound)?;
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
