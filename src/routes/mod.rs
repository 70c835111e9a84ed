//! One module per page. Handlers parse the form into domain types, call the repository
//! function that decides the change in one transaction (plus the reads their page needs), and
//! render one template.

pub mod api_keys;
pub mod eligibility_view;
pub mod export;
pub mod health;
pub mod login;
pub mod notifications;
pub mod support;
pub mod time_zone;
pub mod wallets;

use actix_web::{HttpRequest, HttpResponse};

use crate::client_ip::client_ip;
use crate::db::audit::Origin;
use crate::session::TypedSession;
use crate::templates::see_other;

/// `GET /`: to the keys page, or to login.
pub async fn home(session: TypedSession) -> HttpResponse {
    if session.user_id().is_some() {
        see_other("/settings/api-keys")
    } else {
        see_other("/login")
    }
}

/// Where a request came from, for the audit trail: the client address (the TCP peer, or what a
/// trusted proxy says; see `client_ip`) and the user agent (at most 512 bytes of it).
pub fn origin(req: &HttpRequest) -> Origin {
    let proxies = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|s| s.settings.trusted_proxies.as_slice())
        .unwrap_or_default();
    Origin {
        ip: client_ip(req, proxies).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| crate::middleware::access_log::clip(ua).to_owned()),
    }
}

/// 404 for anything unrouted inside a scope.
pub async fn not_found() -> Result<HttpResponse, crate::error::AppError> {
    Err(crate::error::AppError::NotFound)
}
