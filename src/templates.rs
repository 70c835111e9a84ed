//! Shared page plumbing: the layout every page extends, the render helper, redirects, and the
//! static assets (compiled in, served under content-hashed names).

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::header::HeaderValue;
use actix_web::http::{StatusCode, header};
use askama::Template;

use crate::error::AppError;

/// Marks a response whose body is already a finished page, so the error renderer in
/// `middleware::finish` leaves a deliberate 4xx page (a 422 form, a 409 refusal) alone.
#[derive(Debug, Clone, Copy)]
pub struct Rendered;

/// A compiled-in static file, served under a content-hashed name.
#[derive(Debug)]
pub struct Asset {
    /// `/static/<name>.<crc32>.<ext>`: a new name whenever the file changes, so it can be
    /// cached forever.
    pub path: String,
    /// What is served: the source without comments and indentation (see `minify_css`).
    pub body: String,
    /// The `Content-Type`.
    pub content_type: &'static str,
}

impl Asset {
    fn new(name: &str, ext: &str, body: String) -> Self {
        let content_type = if ext == "css" {
            "text/css; charset=utf-8"
        } else {
            "text/javascript; charset=utf-8"
        };
        Self {
            path: format!(
                "/static/{name}.{:08x}.{ext}",
                crc32fast::hash(body.as_bytes())
            ),
            body,
            content_type,
        }
    }
}

/// The shared stylesheet (layout, forms, dialogs, the keys list).
pub static APP_CSS: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("app", "css", minify_css(include_str!("../static/app.css"))));
/// Styles of every page but the keys list (detail, support, wallets, sign-in, errors).
pub static PAGES_CSS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "pages",
        "css",
        minify_css(include_str!("../static/pages.css")),
    )
});
/// The progressive-enhancement script of every page.
pub static APP_JS: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("app", "js", minify_js(include_str!("../static/app.js"))));
/// Signing a wallet challenge with a browser wallet (the wallets page only).
pub static WALLET_JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "wallet",
        "js",
        minify_js(include_str!("../static/wallet.js")),
    )
});

/// CSS without comments, with whitespace collapsed and dropped next to `{ } ; ,` and after
/// `:`. Our stylesheets put no `/*`, no braces and no runs of spaces inside strings, and a space
/// before `:` (a descendant `:hover`) is kept.
pub fn minify_css(src: &str) -> String {
    let mut no_comments = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(start) = rest.find("/*") {
        no_comments.push_str(&rest[..start]);
        rest = rest[start + 2..]
            .find("*/")
            .map_or("", |end| &rest[start + 2 + end + 2..]);
    }
    no_comments.push_str(rest);
    let mut out = String::with_capacity(no_comments.len());
    for word in no_comments.split_whitespace() {
        let glue = out.ends_with(['{', '}', ';', ',', ':']) || word.starts_with(['{', '}', ';']);
        if !out.is_empty() && !glue {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.replace(";}", "}")
}

/// JavaScript without its full-line `//` comments, indentation and blank lines. Line breaks
/// stay (automatic semicolon insertion sees the same program); our scripts have no template
/// literals or other multi-line strings.
pub fn minify_js(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    for line in src.lines().map(str::trim) {
        if !line.is_empty() && !line.starts_with("//") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

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
    /// The second stylesheet's URL (every page but the keys list); empty for none.
    pub extra_css: &'static str,
    /// Script URL.
    pub js: &'static str,
    /// A page's own script (the wallets page); empty for none.
    pub extra_js: &'static str,
}

impl Layout {
    /// A layout with the asset paths filled in. The CSRF token is masked afresh for each page
    /// (see `session::csrf::mask`), so compressing the page reveals nothing about it.
    pub fn new(title: impl Into<String>, csrf: String) -> Self {
        Self {
            title: title.into(),
            csrf: crate::session::csrf::mask(&csrf),
            css: APP_CSS.path.as_str(),
            extra_css: PAGES_CSS.path.as_str(),
            js: APP_JS.path.as_str(),
            ..Default::default()
        }
    }

    /// The keys list needs only the shared stylesheet.
    pub fn without_pages_css(mut self) -> Self {
        self.extra_css = "";
        self
    }
}

/// Renders a page with a status; the response is marked as a finished page.
pub fn render<T: Template>(tpl: &T, status: StatusCode) -> Result<HttpResponse, AppError> {
    let body = squeeze_html(&tpl.render()?);
    let mut res = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body);
    res.extensions_mut().insert(Rendered);
    Ok(res)
}

/// The page without the templates' indentation and blank lines: each run of whitespace that
/// holds a line break becomes one line break, which HTML renders the same. Inside `<pre>` and
/// `<textarea>` (where it would not) lines are kept as they are; user text is escaped there, so
/// it cannot open or close one.
pub fn squeeze_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut verbatim = false;
    for line in html.lines() {
        let kept = if verbatim { line } else { line.trim() };
        if verbatim || !kept.is_empty() {
            out.push_str(kept);
            out.push('\n');
        }
        let opened = ["<pre", "<textarea"]
            .iter()
            .filter_map(|t| line.rfind(t))
            .max();
        let closed = ["</pre>", "</textarea>"]
            .iter()
            .filter_map(|t| line.rfind(t))
            .max();
        verbatim = match (opened, closed) {
            (Some(o), Some(c)) => o > c,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => verbatim,
        };
    }
    out
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
    let Some(asset) = [&*APP_CSS, &*PAGES_CSS, &*APP_JS, &*WALLET_JS]
        .into_iter()
        .find(|a| a.path == name)
    else {
        return HttpResponse::NotFound().finish();
    };
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(asset.body.as_str())
}

/// Marks a response that carries a full secret (the one-time key after create or roll): no
/// cache may keep it, and it is sent uncompressed. Each such body holds a fresh secret and
/// reflects the submitted name and note, so it is the one place where a BREACH-style length
/// oracle could be imagined; `Content-Encoding: identity` makes actix's `Compress` leave it be.
pub fn mark_secret_bearing(res: &mut HttpResponse) {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static("identity"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minified_css_keeps_every_rule_and_the_spaces_that_matter() {
        let src = include_str!("../static/app.css");
        let min = minify_css(src);
        assert_eq!(min.matches('{').count(), src.matches('{').count());
        assert_eq!(min.matches('}').count(), src.matches('}').count());
        assert!(!min.contains("/*"));
        assert!(min.contains("calc(100% - 2rem)"));
        assert!(min.contains("\"Segoe UI\""));
        assert_eq!(
            minify_css("a :hover { color: red; }\n/* x */ b,\n c {x: y}"),
            "a :hover{color:red}b,c{x:y}"
        );
    }

    #[test]
    fn squeezed_html_keeps_pre_and_textarea_lines() {
        let page = "<ul>\n    <li>a</li>\n\n    <li>b</li>\n</ul>\n<textarea>\n  one\n\n  two</textarea>\n  <pre>x\n    y\n</pre>\n  <p>z</p>\n";
        assert_eq!(
            squeeze_html(page),
            "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n<textarea>\n  one\n\n  two</textarea>\n<pre>x\n    y\n</pre>\n<p>z</p>\n"
        );
    }

    #[test]
    fn minified_js_drops_only_comment_lines_and_indentation() {
        assert_eq!(
            minify_js("// about\n  var a = \"//x\"; // keep\n\n  f();\n"),
            "var a = \"//x\"; // keep\nf();\n"
        );
        for src in [
            include_str!("../static/app.js"),
            include_str!("../static/wallet.js"),
        ] {
            assert!(!src.contains('`'), "minify_js assumes no template literals");
        }
    }
}
