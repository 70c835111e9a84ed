//! `/settings/notifications`: which events reach the user on which channel (`prefs`), the
//! signed webhook with its one-time secret and "send test event" (`webhook`), usage alert rules
//! (`alerts`); plus the in-app list on the keys page (`inapp`). Every handler renders the one
//! page through `render_page`. Setting the webhook and switching a security notice off need a
//! recent password (`auth::reauth`); removing it and switching on never do.

pub mod alerts;
pub mod inapp;
pub mod prefs;
pub mod webhook;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use uuid::Uuid;

use crate::auth::{CurrentUser, reauth};
use crate::db::api_keys;
use crate::db::notices::{alerts as rules, prefs as db_prefs};
use crate::domain::key_name::visible;
use crate::domain::notice::{Channel, EventType};
use crate::domain::time::{local_datetime, zone};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Layout, render};

/// A checkbox of the preferences table.
pub struct PrefCell {
    /// Field name, `event.channel`.
    pub name: String,
    /// Column label (for screen readers, with the row).
    pub label: &'static str,
    /// Checked.
    pub checked: bool,
}

/// A row of the preferences table.
pub struct PrefRow {
    /// Event type label.
    pub label: &'static str,
    /// One cell per channel.
    pub cells: Vec<PrefCell>,
}

/// A usage alert rule in words.
pub struct RuleView {
    /// Its id.
    pub id: Uuid,
    /// "More than 1000 requests in an hour — every key".
    pub text: String,
}

#[derive(Template)]
#[template(path = "notifications/page.html")]
struct NotificationsPage {
    layout: Layout,
    email_enabled: bool,
    email: String,
    channels: Vec<&'static str>,
    rows: Vec<PrefRow>,
    webhook_url: Option<String>,
    webhook_since: String,
    secret: Option<String>,
    url_input: String,
    url_error: Option<String>,
    rules: Vec<RuleView>,
    keys: Vec<(Uuid, String)>,
    alert_error: Option<String>,
    max_rules: i64,
    switches_password: Option<String>,
    webhook_password_required: bool,
    webhook_password_error: Option<String>,
}

/// What one rendering adds to the stored state.
#[derive(Default)]
pub struct PageState {
    /// One-time message.
    pub flash: Option<String>,
    /// The new webhook secret, shown this once.
    pub secret: Option<String>,
    /// The URL field as typed.
    pub url_input: String,
    /// What is wrong with the URL.
    pub url_error: Option<String>,
    /// What is wrong with the alert rule.
    pub alert_error: Option<String>,
    /// The switches as sent, shown instead of the stored ones (the form came back).
    pub switches: Option<Vec<(EventType, Channel, bool)>>,
    /// Why the switches' form asks for the password (sudo mode), when it does.
    pub switches_password: Option<String>,
    /// Why the webhook form asks for the password, when it was refused for want of one.
    pub webhook_password: Option<String>,
}

/// Renders the page with `status`.
pub async fn render_page(
    state: &AppState,
    current: &CurrentUser,
    page: PageState,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let account = current.user.id;
    let tz = zone(&current.user.time_zone);
    let mut conn = state.pool.get().await?;
    let prefs = db_prefs::for_account(&mut conn, account).await?;
    let hook = db_prefs::find_webhook_for_account(&mut conn, account).await?;
    let rule_rows = rules::list_for_account(&mut conn, account).await?;
    let keys = api_keys::list_for_account(&mut conn, account, false).await?;
    let mut layout = current.layout("Notifications", "notifications");
    layout.flash = page.flash;
    let view = NotificationsPage {
        layout,
        email_enabled: state.settings.notify.email_enabled(),
        email: current.user.email.clone(),
        channels: Channel::ALL.iter().map(|c| c.label()).collect(),
        rows: EventType::ALL
            .iter()
            .map(|e| PrefRow {
                label: e.label(),
                cells: Channel::ALL
                    .iter()
                    .map(|c| PrefCell {
                        name: format!("{}.{}", e.as_str(), c.as_str()),
                        label: c.label(),
                        checked: match &page.switches {
                            Some(sent) => sent.contains(&(*e, *c, true)),
                            None => prefs.on(*e, *c),
                        },
                    })
                    .collect(),
            })
            .collect(),
        webhook_since: hook
            .as_ref()
            .map(|h| format!("{} ({})", local_datetime(h.created_at, tz), tz.name()))
            .unwrap_or_default(),
        webhook_url: hook.map(|h| h.url),
        secret: page.secret,
        url_input: page.url_input,
        url_error: page.url_error,
        rules: rule_rows
            .iter()
            .map(|r| {
                let which = r
                    .key_name
                    .as_deref()
                    .map_or_else(|| "every key".to_owned(), |n| format!("“{}”", visible(n)));
                let text = if r.kind == rules::RATE_LIMITED {
                    format!(
                        "More than {} requests refused by the rate limit in an hour — {which}",
                        r.threshold
                    )
                } else if r.kind == rules::REFUSAL_RATE {
                    format!(
                        "More than {} % of requests refused in an hour (with at least {} requests) — {which}",
                        r.threshold, r.min_requests
                    )
                } else {
                    format!("More than {} requests in an hour — {which}", r.threshold)
                };
                RuleView { id: r.id, text }
            })
            .collect(),
        keys: keys
            .into_iter()
            .filter(|k| k.revoked_at.is_none())
            .map(|k| (k.id, visible(&k.name)))
            .collect(),
        alert_error: page.alert_error,
        max_rules: rules::MAX_RULES,
        switches_password: page.switches_password,
        // asked up front when it will be needed: setting a webhook always needs it
        webhook_password_required: page.webhook_password.is_some()
            || reauth::needs_password(current, &state.settings),
        webhook_password_error: page.webhook_password,
    };
    let mut res = render(&view, status)?;
    if view.secret.is_some() {
        // The secret is in this body only: no cache may keep it.
        res.headers_mut().insert(
            actix_web::http::header::CACHE_CONTROL,
            actix_web::http::header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(res)
}
