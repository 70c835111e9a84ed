//! `POST /api/v1/spend` and `POST /api/v1/spend/{id}/void`: the platform asks before it moves a
//! key owner's money. The caller is a platform service (`APP_INTROSPECTION_TOKEN`, checked
//! before the body is read); the key is verified exactly as introspection verifies it (every
//! refusal, the network binding for the `client_ip` sent, the rate limit), and only then is the
//! amount judged against the key's caps and reserved (`db::spend::reserve`). Every answer is a
//! 200 the service can act on; a malformed request is a 400 `invalid_request`.

use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::check::{Caller, Checked, VerifyError, verify};
use super::{invalid_request, is_platform_service, named_client, unauthorized};
use crate::db::spend::{self, VoidOutcome};
use crate::domain::spend::SpendAsk;
use crate::domain::{AuthFailure, PlainKey};
use crate::metrics::Verified;
use crate::state::AppState;

/// `POST /api/v1/spend`: form `token`, `scope`, `amount_cents`, `idempotency_key`, optional
/// `description`, `client_ip`, `user_agent`.
pub async fn spend(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    if !is_platform_service(&req, &state) {
        return Ok(unauthorized(AuthFailure::Unknown));
    }
    if !crate::body::is_form(&req) {
        return Ok(invalid_request(
            "Send the spend as application/x-www-form-urlencoded",
        ));
    }
    let body = crate::body::read(&req, &mut payload.into_inner()).await?;
    let field = |name: &str| {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let Some(token) = field("token") else {
        return Ok(invalid_request("The token parameter is required"));
    };
    let ask = match SpendAsk::parse(
        field("scope").as_deref(),
        field("amount_cents").as_deref(),
        field("idempotency_key").as_deref(),
        field("description").as_deref(),
    ) {
        Ok(a) => a,
        Err(why) => return Ok(invalid_request(why)),
    };
    let (ip, user_agent) = match named_client(&field) {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    let caller = Caller {
        ip,
        user_agent: user_agent.as_deref(),
    };
    let refused = |code: &str| {
        HttpResponse::Ok().json(serde_json::json!({ "allowed": false, "refusal": code }))
    };
    let Ok(key) = PlainKey::parse(token.trim()) else {
        state
            .metrics
            .verification(Verified::Refused(AuthFailure::Malformed));
        return Ok(refused(AuthFailure::Malformed.as_str()));
    };
    let k = match verify(&state, &key, caller).await {
        Ok(Checked { key, .. }) => key,
        Err(VerifyError::Refused(f)) => return Ok(refused(f.as_str())),
        Err(VerifyError::Limited(info)) => {
            return Ok(HttpResponse::Ok().json(serde_json::json!({
                "allowed": false,
                "refusal": AuthFailure::RateLimited.as_str(),
                "retry_after": info.reset_secs,
            })));
        }
        Err(VerifyError::Unavailable(e)) => return Err(e.into()),
    };
    let has_scope = ask.scope_of(&k.scopes).is_some();
    let mut conn = state
        .pool
        .get()
        .await
        .map_err(crate::error::AppError::from)?;
    let answer = spend::reserve(&mut conn, k.id, &ask, has_scope)
        .await
        .map_err(crate::error::AppError::from)?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `POST /api/v1/spend/{id}/void`: gives a reserved amount back (the order failed). Idempotent:
/// a second void answers the same without giving anything back again.
pub async fn void(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    if !is_platform_service(&req, &state) {
        return Ok(unauthorized(AuthFailure::Unknown));
    }
    let Ok(id) = Uuid::parse_str(id.trim()) else {
        return Ok(invalid_request(
            "The spend id is not a spend_id this API gave",
        ));
    };
    let mut conn = state
        .pool
        .get()
        .await
        .map_err(crate::error::AppError::from)?;
    let outcome = spend::void(&mut conn, id)
        .await
        .map_err(crate::error::AppError::from)?;
    let body = |status: &str| serde_json::json!({ "spend_id": id, "status": status });
    Ok(match outcome {
        VoidOutcome::Voided | VoidOutcome::AlreadyVoided => HttpResponse::Ok().json(body("voided")),
        VoidOutcome::NotReserved => HttpResponse::Conflict().json(serde_json::json!({
            "error": "not_reserved",
            "message": "That spend was refused: there is nothing to give back.",
        })),
        VoidOutcome::NotFound => HttpResponse::NotFound().json(serde_json::json!({
            "error": "not_found",
            "message": "No spend with that id.",
        })),
    })
}
