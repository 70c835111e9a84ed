//! `require_support`: the staff console is invisible to members (404) and read-only for staff
//! (403 on any unsafe method but the search form, a POST so that a pasted key never travels in
//! a URL; it changes nothing). Runs inside `require_login`.

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

use super::CurrentUser;
use crate::domain::Role;
use crate::error::AppError;

/// Middleware for `/support`.
pub async fn require_support(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let role = req.extensions().get::<CurrentUser>().map(|c| c.role);
    if role != Some(Role::Support) {
        return Ok(req.error_response(AppError::NotFound));
    }
    let search_form = *req.method() == Method::POST && req.path() == "/support";
    if !matches!(*req.method(), Method::GET | Method::HEAD) && !search_form {
        return Ok(req.error_response(AppError::Forbidden));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
