//! Shared page plumbing: the layout every page extends, the render helper, redirects, and the
//! static assets (compiled in, served under content-hashed names).

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use askama::Template;

use crate::error::AppError;

/// Marks a response whose body is already a finished page, so the error renderer in
/// `middleware::finish` leaves a deliberate 4xx page (a 422 form, a 409 refusal) alone.
#[derive(Debug, Clone, Copy)]
pub struct Rendered;

/// The stylesheet.
pub const CSS: &str = include_str!("../static/app.css");
/// The progressive-enhancement script.
pub const JS: &str = include_str!("../static/app.js");

fn hashed(name: &str, ext: &str, body: &str) -> String {
    format!(
        "/static/{name}.{:08x}.{ext}",
        crc32fast::hash(body.as_bytes())
    )
}

/// `/static/app.<hash>.css`: a new name whenever the file changes, so it can be cached forever.
pub static CSS_PATH: LazyLock<String> = LazyLock::new(|| hashed("app", "css", CSS));
/// `/static/app.<hash>.js`.
pub static JS_PATH: LazyLock<String> = LazyLock::new(|| hashed("app", "js", JS));

/// What the base layout needs on every page.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// `<title>` prefix.
    pub title: String,
    /// Logged-in user's e-mail, for the header.
    pub user_email: Option<String>,
    /// CSRF token for the header's logout form and the page's forms.
    pub csrf: String,
    /// Which navigation entry is current (`api-keys`, `wallets`, `notifications`, `support`).
    pub nav: &'static str,
    /// One-time message from the previous action (escaped like any text).
    pub flash: Option<String>,
    /// Show the support console link.
    pub is_support: bool,
    /// Stylesheet URL.
    pub css: &'static str,
    /// Script URL.
    pub js: &'static str,
}

impl Layout {
    /// A layout with the asset paths filled in.
    pub fn new(title: impl Into<String>, csrf: String) -> Self {
        Self {
            title: title.into(),
            csrf,
            css: CSS_PATH.as_str(),
            js: JS_PATH.as_str(),
            ..Default::default()
        }
    }
}

/// Renders a page with a status; the response is marked as a finished page.
pub fn render<T: Template>(tpl: &T, status: StatusCode) -> Result<HttpResponse, AppError> {
    let body = tpl.render()?;
    let mut res = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body);
    res.extensions_mut().insert(Rendered);
    Ok(res)
}

/// 303 See Other to a local path.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The generic error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// The shared page frame (title, navigation, CSRF token).
    pub layout: Layout,
    /// Status code.
    pub status: u16,
    /// The page heading.
    pub heading: &'a str,
    /// What happened, and what to do next.
    pub message: &'a str,
    /// Request reference id (also in the log).
    pub reference: &'a str,
}

/// Serves the compiled-in static assets under their hashed names.
pub async fn static_asset(path: actix_web::web::Path<String>) -> HttpResponse {
    let name = format!("/static/{}", path.into_inner());
    let (body, ctype) = if name == *CSS_PATH {
        (CSS, "text/css; charset=utf-8")
    } else if name == *JS_PATH {
        (JS, "text/javascript; charset=utf-8")
    } else {
        return HttpResponse::NotFound().finish();
    };
    HttpResponse::Ok()
        .content_type(ctype)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(body)
}
