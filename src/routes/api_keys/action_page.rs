//! What the four row actions share: the plain action page (the no-JavaScript path and the
//! place validation errors and refusals are shown), and loading the key it is about.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use chrono::{Duration, Utc};
use uuid::Uuid;

use super::view::PresetView;
use crate::auth::CurrentUser;
use crate::db::api_keys::{self, KeyRow};
use crate::domain::KeyStatus;
use crate::domain::expiration::PRESETS;
use crate::domain::key_status::{
    REVOKE_BEFORE_DELETE, REVOKED_IS_FINAL, ROLLING_IS_FINAL, is_deletable, used_recently,
};
use crate::domain::time::{local_datetime, local_input, relative, zone};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Layout, render};

/// Which action a page is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Change expiration.
    Expiration,
    /// Rename.
    Rename,
    /// Revoke.
    Revoke,
    /// Delete.
    Delete,
}

/// The action page.
#[derive(Template)]
#[template(path = "api_keys/action.html")]
pub(super) struct ActionPage {
    layout: Layout,
    action: &'static str,
    key_id: Uuid,
    name: String,
    prefix: String,
    status: &'static str,
    /// "Expires 22 Dec 2026, 14:00" or "Never expires".
    expires: String,
    /// "4 minutes ago" when used in the last 7 days.
    recent_use: Option<String>,
    /// Refusal or validation message.
    error: Option<String>,
    /// The action is possible for this key at all (not a revoked key's rename, say).
    can_submit: bool,
    /// Rename: the name as typed.
    new_name: String,
    /// Expiration choices.
    presets: Vec<PresetView>,
    custom_selected: bool,
    custom_expiration: String,
    custom_min: String,
    user_zone: String,
    /// Expiration: a later date needs the password (sudo mode), asked for with this message.
    password_required: bool,
    password_error: Option<String>,
}

/// Shown on a rename or expiration page sent back because its token no longer matched (403).
pub(super) const FORM_EXPIRED: &str =
    "This form expired before it was sent — nothing was changed. Check the details and save again.";

pub(super) struct PageInput<'a> {
    /// Which page.
    pub action: Action,
    /// Refusal or validation message.
    pub error: Option<String>,
    /// Rename: the name as typed.
    pub new_name: Option<&'a str>,
    /// Expiration: the choice and custom date as submitted.
    pub expiration: Option<(&'a str, &'a str)>,
    /// Expiration: why the password is asked for, when it is.
    pub password: Option<String>,
}

fn action_page(
    current: &CurrentUser,
    key: &KeyRow,
    paused: bool,
    input: PageInput<'_>,
) -> ActionPage {
    let tz = zone(&current.user.time_zone);
    let now = Utc::now();
    let (title, action) = match input.action {
        Action::Expiration => ("Change expiration", "expiration"),
        Action::Rename => ("Rename key", "name"),
        Action::Revoke => ("Revoke key", "revoke"),
        Action::Delete => ("Delete key", "delete"),
    };
    let layout = current.layout(title, "api-keys");
    let (choice, custom) = input.expiration.unwrap_or((
        if key.expires_at.is_none() {
            "never"
        } else {
            "custom"
        },
        "",
    ));
    let custom = if custom.is_empty() {
        key.expires_at
            .filter(|e| *e > now)
            .map(|e| local_input(e, tz))
            .unwrap_or_default()
    } else {
        custom.to_owned()
    };
    ActionPage {
        layout,
        action,
        key_id: key.id,
        name: key.name.clone(),
        prefix: key.display(),
        status: KeyStatus::of(key.dates(), paused, now).label(),
        expires: match key.expires_at {
            None => "Never expires".into(),
            Some(e) if e <= now => format!(
                "Expired {} ({} {})",
                relative(e, now),
                local_datetime(e, tz),
                tz.name()
            ),
            Some(e) => format!("Expires {} ({})", local_datetime(e, tz), tz.name()),
        },
        recent_use: key
            .last_used_at
            .filter(|_| used_recently(key.last_used_at, now))
            .map(|t| relative(t, now)),
        error: input.error,
        can_submit: match input.action {
            Action::Expiration | Action::Rename => {
                key.revoked_at.is_none() && key.rolled_at.is_none()
            }
            Action::Revoke => key.revoked_at.is_none(),
            Action::Delete => is_deletable(key.revoked_at, key.expires_at, now),
        },
        new_name: input.new_name.unwrap_or(&key.name).to_owned(),
        presets: PRESETS
            .iter()
            .map(|(value, label)| PresetView {
                value,
                label,
                selected: *value == choice,
            })
            .collect(),
        custom_selected: choice == "custom",
        custom_expiration: custom,
        custom_min: local_input(now + Duration::minutes(2), tz),
        user_zone: tz.name().to_owned(),
        password_required: input.password.is_some(),
        password_error: input.password,
    }
}

async fn load(
    state: &AppState,
    current: &CurrentUser,
    id: Uuid,
) -> Result<(KeyRow, bool), AppError> {
    let mut conn = state.pool.get().await?;
    let key = api_keys::find_for_account(&mut conn, current.user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let paused = api_keys::eligibility_for_account(
        &mut conn,
        current.user.id,
        current.user.api_keys_enabled,
    )
    .await?
    .keys_paused();
    Ok((key, paused))
}

/// The plain page of an action (the no-JavaScript path), with the refusal when the action
/// is not possible for this key.
pub(super) async fn show(
    action: Action,
    id: Uuid,
    current: &CurrentUser,
    state: &AppState,
) -> Result<HttpResponse, AppError> {
    let (key, paused) = load(state, current, id).await?;
    let now = Utc::now();
    let refusal = match action {
        Action::Expiration | Action::Rename if key.revoked_at.is_some() => {
            Some(REVOKED_IS_FINAL.to_owned())
        }
        Action::Expiration | Action::Rename if key.rolled_at.is_some() => {
            Some(ROLLING_IS_FINAL.to_owned())
        }
        Action::Revoke if key.revoked_at.is_some() => Some(
            "This key is already revoked: it no longer works, and nothing is left to do."
                .to_owned(),
        ),
        Action::Delete if !is_deletable(key.revoked_at, key.expires_at, now) => {
            Some(REVOKE_BEFORE_DELETE.to_owned())
        }
        _ => None,
    };
    let page = action_page(
        current,
        &key,
        paused,
        PageInput {
            action,
            error: refusal,
            new_name: None,
            expiration: None,
            password: None,
        },
    );
    render(&page, StatusCode::OK)
}

/// Re-renders an action page with a refusal or validation message.
pub(super) async fn refuse(
    state: &AppState,
    current: &CurrentUser,
    id: Uuid,
    input: PageInput<'_>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (key, paused) = load(state, current, id).await?;
    render(&action_page(current, &key, paused, input), status)
}
