//! One module per page. Handlers parse the form into domain types, call one repository
//! function, and render one template.

pub mod api_keys;
pub mod eligibility_view;
pub mod health;
pub mod login;
pub mod support;
pub mod time_zone;
pub mod wallets;

use actix_web::{HttpRequest, HttpResponse};

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

/// Where a request came from, for the audit trail: the TCP peer (keydesk does not trust
/// forwarding headers) and the user agent.
pub fn origin(req: &HttpRequest) -> Origin {
    Origin {
        ip: req.peer_addr().map(|a| a.ip().to_string()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

/// 404 for anything unrouted inside a scope.
pub async fn not_found() -> Result<HttpResponse, crate::error::AppError> {
    Err(crate::error::AppError::NotFound)
}
