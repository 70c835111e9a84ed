//! Building and running the server. `configure` is the one place that lists every route.

use std::net::TcpListener;
use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_web::cookie::Key;
use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};

use crate::api::last_used::LastUsedRecorder;
use crate::api::scanning_keys::ScanningKeys;
use crate::api::usage::UsageRecorder;
use crate::auth::password::Hasher;
use crate::auth::require_login;
use crate::config::Settings;
use crate::db;
use crate::domain::KeyHasher;
use crate::metrics::Metrics;
use crate::middleware::{self, Security};
use crate::session::PgSessionStore;
use crate::session::csrf::AnonymousTokens;
use crate::state::AppState;
use crate::{api, routes, templates};

pub use crate::session::SESSION_COOKIE;

/// An API resource that answers `POST` only (any other method: 405 with `Allow: POST`).
macro_rules! api_post {
    ($path:expr, $handler:path) => {
        web::resource($path)
            .route(web::post().to($handler))
            .default_service(web::to(|| async { api::method_not_allowed("POST") }))
    };
}

/// A bound, not yet running, keydesk.
pub struct Application {
    port: u16,
    server: Server,
    last_used: LastUsedRecorder,
    usage: UsageRecorder,
    metrics_port: Option<u16>,
    metrics_server: Option<Server>,
    notifier: crate::notify::Notifier,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and prepares the server. The database may
    /// be down: pages then answer 503 until it is reachable.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen)?;
        Self::build_with_listener(settings, listener, true).await
    }

    /// Like `build`, on an already-bound listener. `handle_signals = false` leaves SIGINT and
    /// SIGTERM to the caller (tests run many servers in one process).
    pub async fn build_with_listener(
        settings: Settings,
        listener: TcpListener,
        handle_signals: bool,
    ) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let pool = db::pool::build(
            settings.database_url.expose(),
            settings.db_pool_size,
            settings.db_timeout,
        )?;
        let last_used = LastUsedRecorder::start(
            pool.clone(),
            settings.last_used_flush,
            settings.last_used_enabled,
        );
        db::prune::start(
            pool.clone(),
            settings.prune_interval,
            settings.login_lockout,
        );
        let metrics = Arc::new(Metrics::new()?);
        let usage = UsageRecorder::start(
            pool.clone(),
            settings.usage_flush,
            settings.usage_enabled,
            settings.usage_max_entries,
            metrics.clone(),
        );
        let notifier = crate::notify::Notifier::start(pool.clone(), &settings, metrics.clone())?;
        let state = web::Data::new(AppState {
            key_hasher: KeyHasher::new(settings.key_pepper.expose()),
            password_hasher: Hasher::new(2, settings.login_queue),
            last_used: last_used.clone(),
            usage: usage.clone(),
            pool: pool.clone(),
            settings: Arc::new(settings.clone()),
            metrics: metrics.clone(),
            anonymous_csrf: AnonymousTokens::new(settings.session_key.expose()),
            scanning_keys: ScanningKeys::load(&settings.scanning)?,
            rate: crate::api::rate::RateLimiter::new(settings.rate.window),
        });
        let security = web::Data::new(Security {
            public_origin: settings.public_url.origin(),
            hsts: settings.public_url.is_https(),
        });
        let metrics = web::Data::from(metrics);
        let (metrics_port, metrics_server) = match settings.metrics_listen {
            None => (None, None),
            Some(addr) => {
                let (port, server) = crate::routes::health::metrics_server(
                    addr,
                    metrics.clone(),
                    pool.clone(),
                    last_used.clone(),
                    usage.clone(),
                )?;
                (Some(port), Some(server))
            }
        };
        let store = PgSessionStore::new(pool, settings.session_idle, settings.session_absolute);
        let key = Key::try_from(settings.session_key.expose().as_slice())
            .map_err(|e| anyhow::anyhow!("APP_SESSION_KEY: {e}"))?;
        let idle = settings.session_idle;
        let server = HttpServer::new(move || {
            let session = crate::session::middleware(store.clone(), key.clone(), idle);
            App::new()
                .app_data(state.clone())
                .app_data(security.clone())
                .app_data(metrics.clone())
                .app_data(web::PayloadConfig::new(16 * 1024))
                .app_data(web::FormConfig::default().limit(16 * 1024))
                .configure(|cfg| configure(cfg, session))
                .wrap(from_fn(middleware::finish))
        })
        .workers(settings.workers)
        .client_request_timeout(std::time::Duration::from_secs(10))
        .shutdown_timeout(10);
        let server = if handle_signals {
            server
        } else {
            server.disable_signals()
        };
        let server = server.listen(listener)?.run();
        Ok(Self {
            port,
            server,
            last_used,
            usage,
            metrics_port,
            metrics_server,
            notifier,
        })
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The buffered last-used recorder (tests flush it explicitly).
    pub fn last_used(&self) -> LastUsedRecorder {
        self.last_used.clone()
    }

    /// The buffered usage recorder (tests flush it explicitly).
    pub fn usage(&self) -> UsageRecorder {
        self.usage.clone()
    }

    /// The metrics listener's port, when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }
    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until the server stops (SIGINT/SIGTERM), then flushes buffered last-used times and
    /// usage, and stops the notice worker after the pass in progress.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.map(|m| {
            let handle = m.handle();
            tokio::spawn(m);
            handle
        });
        let result = self.server.await;
        if let Some(h) = metrics {
            h.stop(true).await;
        }
        self.last_used.flush_now().await;
        self.usage.flush_now().await;
        self.notifier.stop().await;
        result
    }
}

/// Every route of keydesk. The health check and the key API come first (the router tries
/// routes in order, and `/static/{file}` is a pattern match these hot paths need not pay for);
/// they, the favicon, static files and the OpenAPI document never touch a session. The pages
/// sit in one scope behind the session middleware (no cookie decryption or session lookup for
/// a key verification). Only pages, assets and the OpenAPI document are compressed (the API's
/// answers are a few hundred bytes). Responses that carry a full secret opt out
/// (`templates::mark_secret_bearing`); pages carry the CSRF token masked afresh each time
/// (`session::csrf::mask`): the BREACH answer.
pub fn configure(cfg: &mut web::ServiceConfig, session: SessionMiddleware<PgSessionStore>) {
    cfg.route("/healthz", web::get().to(routes::health::healthz))
        // Full paths rather than a `/api/v1` scope: one router layer less on every verification.
        .service(
            web::resource("/api/v1/me")
                .route(web::get().to(api::me))
                .default_service(web::to(|| async { api::method_not_allowed("GET") })),
        )
        .service(api_post!("/api/v1/introspect", api::introspect))
        .service(api_post!("/api/v1/spend", api::spend::spend))
        .service(api_post!("/api/v1/spend/{id}/void", api::spend::void))
        .service(
            web::resource("/api/v1/keys/revoke")
                .app_data(web::PayloadConfig::new(api::exposed::MAX_REVOKE_BYTES))
                .route(web::post().to(api::exposed::revoke_by_secret))
                .default_service(web::to(|| async { api::method_not_allowed("POST") })),
        )
        .service(
            // GitHub may report thousands of tokens in one alert
            web::resource("/api/v1/secret-scanning/github")
                .app_data(web::PayloadConfig::new(api::exposed::MAX_ALERT_BYTES))
                .route(web::post().to(api::exposed::github))
                .default_service(web::to(|| async { api::method_not_allowed("POST") })),
        )
        .route("/favicon.ico", web::get().to(routes::health::favicon))
        .route("/readyz", web::get().to(routes::health::readyz))
        .service(
            web::resource("/static/{file}")
                .wrap(Compress::default())
                .route(web::get().to(templates::static_asset)),
        )
        .service(
            web::resource("/api/openapi.json")
                .wrap(Compress::default())
                .route(web::get().to(api::openapi)),
        )
        .service(
            web::scope("")
                .wrap(session)
                .wrap(Compress::default())
                .configure(pages),
        );
}

/// The HTML pages (inside the session middleware).
fn pages(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(routes::home))
        .service(
            web::resource("/login")
                .route(web::get().to(routes::login::login_form))
                .route(web::post().to(routes::login::login)),
        )
        .route("/logout", web::post().to(routes::login::logout))
        .service(
            // require_login runs first (outermost), then require_support.
            web::scope("/support")
                .wrap(from_fn(crate::auth::support::require_support))
                .wrap(from_fn(require_login))
                .service(
                    web::resource("")
                        .route(web::get().to(routes::support::search))
                        .route(web::post().to(routes::support::search_form)),
                )
                .route("/accounts/{id}", web::get().to(routes::support::account))
                .route(
                    "/accounts/{id}/export",
                    web::get().to(routes::support::export),
                )
                .default_service(web::to(routes::not_found)),
        )
        .service(
            web::scope("/settings")
                .wrap(from_fn(require_login))
                .service(
                    web::resource("/api-keys")
                        .route(web::get().to(routes::api_keys::list::page))
                        .route(web::post().to(routes::api_keys::create::create)),
                )
                .route(
                    "/api-keys/new",
                    web::get().to(routes::api_keys::create::new_form),
                )
                .route(
                    "/api-keys/export",
                    web::get().to(routes::api_keys::export::download),
                )
                .route(
                    "/api-keys/{id}",
                    web::get().to(routes::api_keys::detail::page),
                )
                .service(
                    web::resource("/api-keys/{id}/expiration")
                        .route(web::get().to(routes::api_keys::expiration::page))
                        .route(web::post().to(routes::api_keys::expiration::submit)),
                )
                .service(
                    web::resource("/api-keys/{id}/name")
                        .route(web::get().to(routes::api_keys::rename::page))
                        .route(web::post().to(routes::api_keys::rename::submit)),
                )
                .service(
                    web::resource("/api-keys/{id}/pause")
                        .route(web::get().to(routes::api_keys::pause::pause_page))
                        .route(web::post().to(routes::api_keys::pause::pause)),
                )
                .service(
                    web::resource("/api-keys/{id}/resume")
                        .route(web::get().to(routes::api_keys::pause::resume_page))
                        .route(web::post().to(routes::api_keys::pause::resume)),
                )
                .service(
                    web::resource("/api-keys/{id}/caps")
                        .route(web::get().to(routes::api_keys::caps::show))
                        .route(web::post().to(routes::api_keys::caps::submit)),
                )
                .service(
                    web::resource("/api-keys/{id}/rate")
                        .route(web::get().to(routes::api_keys::rate::show))
                        .route(web::post().to(routes::api_keys::rate::submit)),
                )
                .service(
                    web::resource("/api-keys/{id}/network")
                        .route(web::get().to(routes::api_keys::network::show))
                        .route(web::post().to(routes::api_keys::network::submit)),
                )
                .service(
                    web::resource("/api-keys/{id}/revoke")
                        .route(web::get().to(routes::api_keys::revoke::page))
                        .route(web::post().to(routes::api_keys::revoke::submit)),
                )
                .service(
                    web::resource("/api-keys/{id}/roll")
                        .route(web::get().to(routes::api_keys::roll::show))
                        .route(web::post().to(routes::api_keys::roll::submit)),
                )
                .service(
                    web::resource("/api-keys/{id}/scopes")
                        .route(web::get().to(routes::api_keys::scopes::show))
                        .route(web::post().to(routes::api_keys::scopes::submit)),
                )
                .service(
                    web::resource("/api-keys/{id}/note")
                        .route(web::get().to(routes::api_keys::note::show))
                        .route(web::post().to(routes::api_keys::note::submit)),
                )
                .service(
                    web::resource("/api-keys/{id}/delete")
                        .route(web::get().to(routes::api_keys::delete::page))
                        .route(web::post().to(routes::api_keys::delete::submit)),
                )
                .service(
                    web::resource("/wallets")
                        .route(web::get().to(routes::wallets::list::page))
                        .route(web::post().to(routes::wallets::link::link)),
                )
                .route(
                    "/wallets/challenge",
                    web::post().to(routes::wallets::challenge::challenge),
                )
                .service(
                    web::resource("/wallets/{id}/unlink")
                        .route(web::get().to(routes::wallets::unlink::page))
                        .route(web::post().to(routes::wallets::unlink::submit)),
                )
                .route("/time-zone", web::post().to(routes::time_zone::set))
                .route(
                    "/notices/{id}/dismiss",
                    web::post().to(routes::notifications::inapp::dismiss),
                )
                .service(
                    web::resource("/notifications")
                        .route(web::get().to(routes::notifications::prefs::page))
                        .route(web::post().to(routes::notifications::prefs::save)),
                )
                .route(
                    "/notifications/webhook",
                    web::post().to(routes::notifications::webhook::set),
                )
                .route(
                    "/notifications/webhook/test",
                    web::post().to(routes::notifications::webhook::test),
                )
                .route(
                    "/notifications/webhook/delete",
                    web::post().to(routes::notifications::webhook::delete),
                )
                .route(
                    "/notifications/alerts",
                    web::post().to(routes::notifications::alerts::add),
                )
                .route(
                    "/notifications/alerts/{id}/delete",
                    web::post().to(routes::notifications::alerts::delete),
                ),
        );
}
