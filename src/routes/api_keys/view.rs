//! View models of the keys page, and the one function that loads and renders it (the GET and
//! every POST outcome show the same page in different states).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::db::api_keys::{self, KeyRow};
use crate::domain::eligibility::{Eligibility, Facts, MAX_ACTIVE_KEYS};
use crate::domain::expiration::{DEFAULT_PRESET, PRESETS};
use crate::domain::time::{local_datetime, relative, zone};
use crate::domain::{KeyStatus, Scope};
use crate::error::AppError;
use crate::routes::eligibility_view::{ReasonView, reasons};
use crate::routes::notifications::inapp::{self, NoticeView};
use crate::templates::{Layout, render};

pub use super::exposure_view::ExposureView;
pub use super::secret::SecretView;

pub use super::key_view::KeyView;

/// A scope checkbox.
pub struct ScopeView {
    /// The form value.
    pub value: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// Whether the box is checked.
    pub checked: bool,
}

/// An expiration choice.
pub struct PresetView {
    /// The form value.
    pub value: &'static str,
    /// The name its owner gave it.
    pub label: &'static str,
    /// Whether it is the current choice.
    pub selected: bool,
}

/// The create form's state: defaults, or the user's input with messages.
pub struct CreateFormView {
    /// Name as typed.
    pub name: String,
    /// Note as typed.
    pub note: String,
    /// Rate limit as typed (empty: none).
    pub rate_limit: String,
    /// Message next to the rate limit.
    pub rate_limit_error: Option<String>,
    /// Expiration choices.
    pub presets: Vec<PresetView>,
    /// Custom is selected.
    pub custom_selected: bool,
    /// Custom date-time as typed.
    pub custom_expiration: String,
    /// Earliest custom value (`datetime-local` min).
    pub custom_min: String,
    /// Scope checkboxes.
    pub scopes: Vec<ScopeView>,
    /// One-time id of this form.
    pub request_id: String,
    /// Message next to the name.
    pub name_error: Option<String>,
    /// Message next to the expiration.
    pub expiration_error: Option<String>,
    /// Message next to the scopes.
    pub scopes_error: Option<String>,
    /// Message next to the note.
    pub note_error: Option<String>,
    /// Ask for the password (it was not entered recently).
    pub password_required: bool,
    /// Message next to the password field (why it is asked, or that it was wrong).
    pub password_error: Option<String>,
    /// A message about the whole form (it expired before it was sent).
    pub form_error: Option<String>,
    /// Show the dialog open (after a validation error).
    pub open: bool,
}

impl CreateFormView {
    /// The empty form with defaults (30 days, both scopes).
    pub fn fresh(tz: Tz, now: DateTime<Utc>) -> Self {
        Self::with_input(
            "",
            "",
            DEFAULT_PRESET,
            "",
            &Scope::ALL.map(|s| s.as_str().to_owned()),
            tz,
            now,
        )
    }

    /// The form as the user filled it.
    pub fn with_input(
        name: &str,
        note: &str,
        expiration: &str,
        custom: &str,
        scopes: &[String],
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            note: note.to_owned(),
            rate_limit: String::new(),
            rate_limit_error: None,
            presets: PRESETS
                .iter()
                .map(|(value, label)| PresetView {
                    value,
                    label,
                    selected: *value == expiration,
                })
                .collect(),
            custom_selected: expiration == "custom",
            custom_expiration: custom.to_owned(),
            custom_min: crate::domain::time::local_input(now + Duration::minutes(2), tz),
            scopes: Scope::ALL
                .iter()
                .map(|s| ScopeView {
                    value: s.as_str(),
                    description: s.description(),
                    checked: scopes.iter().any(|v| v == s.as_str()),
                })
                .collect(),
            request_id: Uuid::new_v4().to_string(),
            name_error: None,
            expiration_error: None,
            scopes_error: None,
            note_error: None,
            password_required: false,
            password_error: None,
            form_error: None,
            open: false,
        }
    }
}

/// A line of "Recent activity".
pub struct ActivityView {
    /// What happened.
    pub text: String,
    /// Relative time.
    pub when: String,
    /// Exact time.
    pub when_title: String,
    /// From where.
    pub ip: String,
}

/// The keys page.
#[derive(Template)]
#[template(path = "api_keys/page.html")]
pub struct KeysPage {
    /// The shared page frame (title, navigation, CSRF token).
    pub layout: Layout,
    /// Failing eligibility reasons.
    pub reasons: Vec<ReasonView>,
    /// The create button and dialog are offered.
    pub can_create: bool,
    /// Active keys.
    pub active_keys: i64,
    /// The limit.
    pub max_keys: i64,
    /// The account's keys are paused (the usage line says so).
    pub keys_paused: bool,
    /// The keys shown, one row each.
    pub keys: Vec<KeyView>,
    /// `?show=all`.
    pub show_all: bool,
    /// The IANA zone times are shown in (named on the page).
    pub user_zone: String,
    /// The create form.
    pub form: CreateFormView,
    /// The one-time secret, right after creation.
    pub secret: Option<SecretView>,
    /// A notice (e.g. a resubmitted form).
    pub notice: Option<String>,
    /// Recent activity.
    pub activity: Vec<ActivityView>,
    /// Keys that need attention, by why (empty when all is well).
    pub health: Vec<super::health::HealthView>,
    /// Choices of the shared change-expiration dialog.
    pub edit_presets: Vec<PresetView>,
    /// Activity page shown (1-based).
    pub activity_page: i64,
    /// There are older events.
    pub activity_more: bool,
    /// Unread in-app notices (newest first).
    pub notices: Vec<NoticeView>,
    /// Unread notices in all.
    pub notices_total: i64,
}

impl KeysPage {
    /// Some row offers Delete (the delete dialog is only in the page then).
    pub fn any_deletable(&self) -> bool {
        self.keys.iter().any(|k| k.deletable)
    }
}

/// Events per page of "Recent activity".
const ACTIVITY_PAGE: i64 = 10;

/// What varies between the renderings of the page.
#[derive(Default)]
pub struct PageState {
    /// Include revoked and expired keys.
    pub show_all: bool,
    /// The create form.
    pub form: Option<CreateFormView>,
    /// The one-time secret.
    pub secret: Option<SecretView>,
    /// A notice.
    pub notice: Option<String>,
    /// A flash from the previous action.
    pub flash: Option<String>,
    /// Activity page (1-based).
    pub activity_page: i64,
}

/// The list with each rolling key moved right after the key that replaces it, so the two are
/// read together ("is anything still using the old one?").
fn rolling_beside_successors(rows: Vec<KeyRow>) -> Vec<KeyRow> {
    let (rolling, mut out): (Vec<KeyRow>, Vec<KeyRow>) = rows
        .into_iter()
        .partition(|k| k.rolled_to.is_some() && k.revoked_at.is_none());
    for k in rolling {
        let at = out
            .iter()
            .position(|s| Some(s.id) == k.rolled_to)
            .map_or(out.len(), |i| i + 1);
        out.insert(at, k);
    }
    out
}

/// Loads everything the page shows and renders it with `status`.
pub async fn render_page(
    conn: &mut AsyncPgConnection,
    current: &CurrentUser,
    settings: &crate::config::Settings,
    state: PageState,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let user = &current.user;
    let tz = zone(&user.time_zone);
    let now = Utc::now();
    let activity_page = state.activity_page.max(1);
    let api_keys::KeysPageData {
        keys: rows,
        wallets: wallet_rows,
        mut events,
        requests_24h,
    } = api_keys::keys_page_data(
        conn,
        user.id,
        state.show_all,
        ACTIVITY_PAGE + 1,
        (activity_page - 1) * ACTIVITY_PAGE,
    )
    .await?;
    let activity_more = events.len() as i64 > ACTIVITY_PAGE;
    events.truncate(ACTIVITY_PAGE as usize);
    // The list holds every active key, so it also gives the count the limit is judged by.
    let active = rows
        .iter()
        .filter(|k| KeyStatus::of(k.dates(), false, now).counts_as_active())
        .count() as i64;
    let rows = rolling_beside_successors(rows);
    let wallets = wallet_rows;
    let eligibility = Eligibility::evaluate(&Facts {
        api_keys_enabled: user.api_keys_enabled,
        wallets: &wallets,
        active_keys: active,
    });
    let paused = eligibility.keys_paused();
    let (notices, notices_total) = inapp::unread(conn, user.id, tz).await?;
    let mut layout = current.layout("API keys", "api-keys");
    if notices.is_empty() {
        // the list needs only the shared stylesheet; unread notices are styled in pages.css
        layout = layout.without_pages_css();
    }
    layout.flash = state.flash;
    let mut form = state.form.unwrap_or_else(|| CreateFormView::fresh(tz, now));
    if crate::auth::reauth::needs_password(current, settings) {
        form.password_required = true;
    }
    let page = KeysPage {
        layout,
        reasons: reasons(&eligibility, &settings.support_email),
        can_create: eligibility.can_create(),
        active_keys: eligibility.active_keys,
        max_keys: MAX_ACTIVE_KEYS,
        keys_paused: paused,
        keys: rows
            .iter()
            .map(|k| {
                KeyView::new(k, paused, tz, now)
                    .with_requests(&requests_24h)
                    .with_pause_reason(eligibility.pause_reason())
            })
            .collect(),
        show_all: state.show_all,
        user_zone: tz.name().to_owned(),
        health: super::health::summary(&rows, now),
        form,
        secret: state.secret,
        notice: state.notice,
        activity: events
            .iter()
            .map(|e| ActivityView {
                text: e.action.describe(&e.detail),
                when: relative(e.created_at, now),
                when_title: format!("{} ({})", local_datetime(e.created_at, tz), tz.name()),
                ip: e.ip.clone().unwrap_or_default(),
            })
            .collect(),
        edit_presets: PRESETS
            .iter()
            .map(|(value, label)| PresetView {
                value,
                label,
                selected: *value == DEFAULT_PRESET,
            })
            .collect(),
        activity_page,
        activity_more,
        notices,
        notices_total,
    };
    render(&page, status)
}
