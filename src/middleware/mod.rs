//! The outermost middleware, one layer: a request id, the cross-site check on unsafe methods,
//! one renderer for every error page, the SPEC §8 headers on every response, the access-log
//! line and the request metrics. Each concern lives in its own file here; `finish` runs them in
//! order. It reads two narrow pieces of application data: `Data<Security>` and `Data<Metrics>`.

pub mod access_log;
pub mod error_page;
pub mod headers;
pub mod origin;

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use rand::distr::{Alphanumeric, SampleString};

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::templates::Rendered;
use error_page::{PrebuiltResponse, error_response, plain_error_response};

pub use headers::CSP;

/// What the middleware needs from configuration.
#[derive(Debug, Clone)]
pub struct Security {
    /// `APP_PUBLIC_URL` as an origin (`https://phygitals.com`).
    pub public_origin: String,
    /// Send `Strict-Transport-Security` (the public URL is https).
    pub hsts: bool,
}

/// The middleware itself (`middleware::from_fn(finish)`).
pub async fn finish(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    // The request's reference id: in the access log, in error logs, on the error page.
    let id = Alphanumeric.sample_string(&mut rand::rng(), 12);
    // Keep copies, not a clone of the request: routing needs the request to be unshared. A
    // `Uri` clone shares the request's bytes.
    let method = req.method().clone();
    let uri = req.uri().clone();
    let path = uri.path();
    let is_api = path.starts_with("/api/");
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let security = req.app_data::<web::Data<Security>>().cloned();
    let hsts = security.as_ref().is_some_and(|s| s.hsts);
    let done = |route: Option<String>, status: u16| {
        let took = started.elapsed();
        access_log::line(&id, &method, path, status, took);
        if let Some(m) = &metrics {
            m.request(route.as_deref(), &method, status, took);
        }
    };

    if !is_api
        && origin::is_unsafe(req.method())
        && !security
            .as_ref()
            .is_some_and(|s| origin::allowed(req.request(), &s.public_origin))
    {
        let err = actix_web::Error::from(AppError::Csrf);
        let mut page = error_response(
            &err,
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            &id,
            false,
            true,
            None,
        );
        headers::set(page.headers_mut(), hsts);
        done(req.match_pattern(), 403);
        return Ok(req.into_response(page));
    }

    match next.call(req).await {
        Ok(res) => {
            let mut res = res.map_into_boxed_body();
            if res.status().as_u16() >= 400
                && res.response().extensions().get::<Rendered>().is_none()
            {
                let (req, old) = res.into_parts();
                // Signed in (require_login ran): the error page keeps the header and sidebar.
                let user = req.extensions().get::<CurrentUser>().cloned();
                let user = user.as_ref();
                let new = match old.error() {
                    Some(e) => {
                        error_response(e, old.status(), old.headers(), &id, is_api, false, user)
                    }
                    None => plain_error_response(old.status(), old.headers(), &id, is_api, user),
                };
                res = ServiceResponse::new(req, new);
            }
            headers::set(res.headers_mut(), hsts);
            done(res.request().match_pattern(), res.status().as_u16());
            Ok(res)
        }
        // An inner middleware failed (e.g. the session store could not reach the database).
        // There is no request left to attach a response to, so hand actix a finished page
        // as the error's own response.
        Err(e) => {
            let mut page = error_response(
                &e,
                e.as_response_error().status_code(),
                &HeaderMap::new(),
                &id,
                is_api,
                false,
                None,
            );
            headers::set(page.headers_mut(), hsts);
            done(Some("middleware_error".to_owned()), page.status().as_u16());
            Err(PrebuiltResponse::from(page).into())
        }
    }
}
