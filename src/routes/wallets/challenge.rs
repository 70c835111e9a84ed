//! `POST /settings/wallets/challenge`: issues a one-time message for an address. The message
//! names `APP_PUBLIC_URL`, never a request header: a forged `Host`/`X-Forwarded-Host` must not
//! put a phishing site's name into text the user signs.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use rand::distr::{Alphanumeric, SampleString};

use super::{ChallengeView, PageState, record_failure, render_page};
use crate::auth::CurrentUser;
use crate::db::wallets;
use crate::domain::challenge::{CHALLENGE_TTL, challenge_message};
use crate::domain::wallet::WalletAddress;
use crate::error::AppError;
use crate::session::CsrfForm;
use crate::state::AppState;

/// The address form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct AddressForm {
    address: String,
}

/// Parses the address, refuses one that is linked already, stores a challenge and shows it.
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
            let page = PageState::refused(msg, &raw, StatusCode::UNPROCESSABLE_ENTITY);
            return render_page(&state, &current, page).await;
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
        let uid = current.user.id;
        record_failure(&state, &req, uid, address.as_str(), "address_taken").await?;
        let page = PageState::refused(msg, address.as_str(), StatusCode::CONFLICT);
        return render_page(&state, &current, page).await;
    }
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
    let page = PageState {
        challenge: Some(ChallengeView::new(&c, &current)),
        ..PageState::ok()
    };
    render_page(&state, &current, page).await
}
