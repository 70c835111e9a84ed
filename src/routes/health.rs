//! `/healthz` (the process answers) and `/readyz` (the database answers and holds this
//! build's schema: an instance that started before its database is not ready until the
//! migrations it retries in the background have run), and `/metrics` on the metrics listener.

use std::sync::LazyLock;

use actix_web::{HttpResponse, web};
use diesel_async::RunQueryDsl;

use crate::state::AppState;

/// Always 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok\n")
}

/// The version of the newest migration compiled in (`2026-12-02-000004` style, digits only
/// as diesel records it).
static LATEST_MIGRATION: LazyLock<String> = LazyLock::new(|| {
    use diesel::migration::MigrationSource;
    MigrationSource::<diesel::pg::Pg>::migrations(&crate::db::MIGRATIONS)
        .ok()
        .and_then(|ms| ms.iter().map(|m| m.name().version().to_string()).max())
        .unwrap_or_default()
});

/// 200 when the newest migration is recorded as applied, else 503 with `Retry-After`.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ok = match state.pool.get().await {
        Ok(mut conn) => {
            diesel::sql_query("SELECT 1 FROM __diesel_schema_migrations WHERE version = $1")
                .bind::<diesel::sql_types::Text, _>(LATEST_MIGRATION.as_str())
                .execute(&mut conn)
                .await
                .is_ok_and(|n| n == 1)
        }
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

/// `/favicon.ico`: browsers ask for it on every site; keydesk has no icon, so it answers 204
/// (cached for a day) instead of a 404 in every log.
pub async fn favicon() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .finish()
}

/// `GET /metrics` on the metrics listener (`APP_METRICS_LISTEN`): the registry's text with the
/// pool and recorder gauges read now.
pub async fn metrics(
    metrics: web::Data<crate::metrics::Metrics>,
    pool: web::Data<crate::db::DbPool>,
    last_used: web::Data<crate::api::last_used::LastUsedRecorder>,
    usage: web::Data<crate::api::usage::UsageRecorder>,
) -> HttpResponse {
    let buffers = crate::metrics::Buffers {
        usage_pending: usage.pending(),
        last_used_pending: last_used.pending(),
        last_used_lag_secs: last_used.oldest_pending_age_secs(),
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render(&pool, buffers))
}

/// The separate metrics listener on `addr` (`APP_METRICS_LISTEN`): one worker serving
/// `/metrics` only. Returns the port it bound and the running server.
pub fn metrics_server(
    addr: std::net::SocketAddr,
    metrics: web::Data<crate::metrics::Metrics>,
    pool: crate::db::DbPool,
    last_used: crate::api::last_used::LastUsedRecorder,
    usage: crate::api::usage::UsageRecorder,
) -> std::io::Result<(u16, actix_web::dev::Server)> {
    let listener = std::net::TcpListener::bind(addr)?;
    let port = listener.local_addr()?.port();
    let (pool, last_used, usage) = (
        web::Data::new(pool),
        web::Data::new(last_used),
        web::Data::new(usage),
    );
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(metrics.clone())
            .app_data(pool.clone())
            .app_data(last_used.clone())
            .app_data(usage.clone())
            .route("/metrics", web::get().to(self::metrics))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((port, server))
}
