//! `/healthz` (the process answers) and `/readyz` (the database answers too).

use actix_web::{HttpResponse, web};
use diesel_async::RunQueryDsl;

use crate::startup::AppState;

/// Always 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok\n")
}

/// 200 when a `SELECT 1` succeeds, else 503 with `Retry-After`.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ok = match state.pool.get().await {
        Ok(mut conn) => diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .is_ok(),
        Err(_) => false,
    };
    if ok {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("ready\n")
    } else {
        let mut res = HttpResponse::ServiceUnavailable()
            .insert_header((
                "Retry-After",
                crate::error::RETRY_AFTER_UNAVAILABLE.to_string(),
            ))
            .content_type("text/plain; charset=utf-8")
            .body("database unavailable\n");
        res.extensions_mut().insert(crate::templates::Rendered);
        res
    }
}
