//! Exports (SPEC §15), shared by the owner's `GET /settings/api-keys/export` and support's
//! `GET /support/accounts/{id}/export`: the query, the form page (also what a wrong query gets,
//! 422 with the input kept), and the streamed file (`body`).

mod body;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use chrono::Utc;

use crate::auth::CurrentUser;
use crate::domain::export::{self, Export, ExportErrors, Format, MAX_DAYS, What};
use crate::domain::limits;
use crate::domain::time::zone;
use crate::error::AppError;
use crate::templates::{Layout, render};

pub use body::{Source, response};

/// The query of an export link or of the form (every field optional: empty dates are the
/// last 30 days, an empty format is CSV).
#[derive(Debug, serde::Deserialize, Default)]
#[serde(default)]
pub struct ExportQuery {
    /// `usage` or `audit`.
    pub what: String,
    /// `csv` or `json`.
    pub format: String,
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    pub to: String,
}

/// Where the form sits: the page's frame and the address it sends to.
pub struct Frame {
    /// Navigation entry (`api-keys`, `support`).
    pub nav: &'static str,
    /// The heading.
    pub heading: String,
    /// The form's action (this route).
    pub action: String,
    /// The page to go back to, and its name.
    pub back: (String, String),
    /// Whose data, in a sentence ("your keys", "ana@example.com's keys").
    pub whose: String,
}

/// A choice of a radio group.
pub struct Choice {
    /// The code.
    pub value: &'static str,
    /// What a person reads.
    pub label: &'static str,
    /// Chosen.
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "export/page.html")]
struct ExportPage {
    layout: Layout,
    heading: String,
    action: String,
    back_href: String,
    back_label: String,
    whose: String,
    zone: String,
    max_days: i64,
    whats: Vec<Choice>,
    formats: Vec<Choice>,
    from: String,
    to: String,
    errors: ExportErrors,
}

/// What a request asks for: the form to fill in, or an export to send.
pub enum Checked {
    /// The form (200 for an empty query, 422 with every problem named).
    Page(HttpResponse),
    /// A valid export.
    Run(Export),
}

/// Reads the query in the zone of the person exporting. An empty query shows the form with
/// the last 30 days filled in; a wrong one shows it again with the input kept and every
/// problem named (422).
pub fn check(
    query: &ExportQuery,
    current: &CurrentUser,
    frame: Frame,
) -> Result<Checked, AppError> {
    let tz = zone(&current.user.time_zone);
    let today = Utc::now().with_timezone(&tz).date_naive();
    let empty = [&query.what, &query.format, &query.from, &query.to]
        .iter()
        .all(|v| v.trim().is_empty());
    let (status, errors, from, to) = if empty {
        let from = export::default_from(today).to_string();
        (
            StatusCode::OK,
            ExportErrors::default(),
            from,
            today.to_string(),
        )
    } else {
        match export::parse(
            &query.what,
            &query.format,
            &query.from,
            &query.to,
            tz,
            today,
        ) {
            Ok(e) => return Ok(Checked::Run(e)),
            Err(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                clip(&query.from),
                clip(&query.to),
            ),
        }
    };
    let what = if empty { "usage" } else { query.what.trim() };
    let format = if empty || query.format.trim().is_empty() {
        "csv"
    } else {
        query.format.trim()
    };
    let page = ExportPage {
        layout: current.layout(frame.heading.clone(), frame.nav),
        heading: frame.heading,
        action: frame.action,
        back_href: frame.back.0,
        back_label: frame.back.1,
        whose: frame.whose,
        zone: tz.name().to_owned(),
        max_days: MAX_DAYS,
        whats: What::ALL
            .iter()
            .map(|w| Choice {
                value: w.as_str(),
                label: w.label(),
                checked: w.as_str() == what,
            })
            .collect(),
        formats: Format::ALL
            .iter()
            .map(|f| Choice {
                value: f.as_str(),
                label: f.label(),
                checked: f.as_str() == format,
            })
            .collect(),
        from,
        to,
        errors,
    };
    Ok(Checked::Page(render(&page, status)?))
}

/// A value sent back into the form: never longer than a short field may be.
fn clip(v: &str) -> String {
    v.chars().take(limits::SHORT).collect()
}
