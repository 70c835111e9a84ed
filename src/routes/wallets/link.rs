//! `POST /settings/wallets`: checks the signed challenge (`domain::challenge`), verifies the
//! signature, and links the wallet in one transaction with its audit event.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::{ChallengeView, PageState, record_failure, render_page};
use crate::auth::CurrentUser;
use crate::db::wallets::{self, LinkOutcome};
use crate::domain::challenge::ChallengeRefusal;
use crate::domain::limits;
use crate::domain::wallet::{WalletAddress, short_address};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::see_other;

/// The link form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct LinkForm {
    challenge_id: String,
    address: String,
    signature: String,
}

const START_AGAIN: &str =
    "That linking request isn't valid any more. Start again with your wallet address.";

/// Links the wallet when the challenge and its signature check out.
pub async fn link(
    req: HttpRequest,
    form: CsrfForm<LinkForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let uid = current.user.id;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    if let Err(e) = limits::check(&[
        ("The address", &form.address, limits::ADDRESS),
        ("The signature", &form.signature, limits::SIGNATURE),
    ]) {
        return render_page(&state, &current, PageState::refused(e, "", unprocessable)).await;
    }
    let found = match Uuid::parse_str(form.challenge_id.trim()) {
        Ok(id) => {
            let mut conn = state.pool.get().await?;
            wallets::find_challenge_for_account(&mut conn, uid, id).await?
        }
        Err(_) => None,
    };
    let Some((ch, now)) = found else {
        record_failure(&state, &req, uid, &form.address, "unknown_challenge").await?;
        let page = PageState::refused(START_AGAIN, &form.address, unprocessable);
        return render_page(&state, &current, page).await;
    };
    let again = |error: String| PageState {
        challenge: Some(ChallengeView::new(&ch, &current)),
        error: Some(error),
        status: unprocessable,
        ..PageState::ok()
    };
    if let Err(refusal) = ch.facts().check(now, &form.address) {
        record_failure(&state, &req, uid, &ch.address, refusal.code()).await?;
        let page = if refusal.challenge_still_usable() {
            PageState {
                address_input: ch.address.clone(),
                ..again(refusal.message())
            }
        } else {
            PageState::refused(refusal.message(), &ch.address, unprocessable)
        };
        return render_page(&state, &current, page).await;
    }
    let address = WalletAddress::parse(&ch.address)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored address invalid: {e}")))?;
    if let Err(e) = address.verify(ch.message.as_bytes(), &form.signature) {
        record_failure(&state, &req, uid, &ch.address, "bad_signature").await?;
        let page = PageState {
            signature_input: form.signature.trim().to_owned(),
            signature_invalid: true,
            ..again(e.to_string())
        };
        return render_page(&state, &current, page).await;
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
            let msg = ChallengeRefusal::Reused.message();
            render_page(&state, &current, PageState::refused(msg, "", unprocessable)).await
        }
        LinkOutcome::AddressTaken => {
            record_failure(&state, &req, uid, address.as_str(), "address_taken").await?;
            let msg = "This wallet is already linked to an account. One wallet can belong to one account only.";
            let page = PageState::refused(msg, "", StatusCode::CONFLICT);
            render_page(&state, &current, page).await
        }
    }
}
