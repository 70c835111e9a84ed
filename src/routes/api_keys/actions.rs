//! Row actions on one key: change expiration, rename, revoke, delete. Each has a plain page
//! (`GET …/{id}/{action}`, the no-JavaScript path and the place validation errors are shown)
//! and a POST that redirects back to the list with a one-time message.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Duration, Utc};
use uuid::Uuid;

use super::view::PresetView;
use crate::auth::CurrentUser;
use crate::db::api_keys::{self, DeleteOutcome, EditOutcome, KeyRow, RevokeOutcome};
use crate::domain::expiration::PRESETS;
use crate::domain::time::{local_datetime, local_input, relative, zone};
use crate::domain::{Expiration, ExpirationInput, KeyName, KeyStatus};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::csrf::TokenOnly;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::{Layout, render, see_other};

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
struct ActionPage {
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
}

fn parse_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

struct PageInput<'a> {
    action: Action,
    error: Option<String>,
    new_name: Option<&'a str>,
    expiration: Option<(&'a str, &'a str)>,
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
        prefix: key.prefix.clone(),
        status: KeyStatus::of(key.revoked_at, key.expires_at, paused, now).label(),
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
            .filter(|t| now - *t <= Duration::days(7))
            .map(|t| relative(t, now)),
        error: input.error,
        can_submit: match input.action {
            Action::Expiration | Action::Rename => key.revoked_at.is_none(),
            Action::Revoke => true,
            Action::Delete => key.revoked_at.is_some() || key.expires_at.is_some_and(|e| e <= now),
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

async fn show(
    action: Action,
    path: web::Path<String>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let (key, paused) = load(&state, &current, id).await?;
    let refusal = match action {
        Action::Expiration | Action::Rename if key.revoked_at.is_some() => {
            Some("Revoked keys can't be changed — create a new key instead.".to_owned())
        }
        Action::Delete
            if key.revoked_at.is_none() && key.expires_at.is_none_or(|e| e > Utc::now()) =>
        {
            Some("Only revoked or expired keys can be deleted — revoke it first.".to_owned())
        }
        _ => None,
    };
    let page = action_page(
        &current,
        &key,
        paused,
        PageInput {
            action,
            error: refusal,
            new_name: None,
            expiration: None,
        },
    );
    render(&page, StatusCode::OK)
}

/// `GET /settings/api-keys/{id}/expiration`.
pub async fn expiration_page(
    p: web::Path<String>,
    c: web::ReqData<CurrentUser>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    show(Action::Expiration, p, c, s).await
}
/// `GET /settings/api-keys/{id}/name`.
pub async fn rename_page(
    p: web::Path<String>,
    c: web::ReqData<CurrentUser>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    show(Action::Rename, p, c, s).await
}
/// `GET /settings/api-keys/{id}/revoke`.
pub async fn revoke_page(
    p: web::Path<String>,
    c: web::ReqData<CurrentUser>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    show(Action::Revoke, p, c, s).await
}
/// `GET /settings/api-keys/{id}/delete`.
pub async fn delete_page(
    p: web::Path<String>,
    c: web::ReqData<CurrentUser>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    show(Action::Delete, p, c, s).await
}

async fn refuse(
    state: &AppState,
    current: &CurrentUser,
    id: Uuid,
    input: PageInput<'_>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (key, paused) = load(state, current, id).await?;
    render(&action_page(current, &key, paused, input), status)
}

/// The change-expiration form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ExpirationForm {
    expiration: String,
    custom_expiration: String,
}

/// `POST /settings/api-keys/{id}/expiration`.
pub async fn set_expiration(
    req: HttpRequest,
    path: web::Path<String>,
    form: CsrfForm<ExpirationForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let form = form.into_inner();
    let tz = zone(&current.user.time_zone);
    let input = ExpirationInput {
        expiration: form.expiration.clone(),
        custom_expiration: form.custom_expiration.clone(),
    };
    let with_error = |error: String| PageInput {
        action: Action::Expiration,
        error: Some(error),
        new_name: None,
        expiration: Some((form.expiration.as_str(), form.custom_expiration.as_str())),
    };
    let expiration = match Expiration::parse(&input, Utc::now(), tz) {
        Ok(e) => e,
        Err(msg) => {
            return refuse(
                &state,
                &current,
                id,
                with_error(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let mut conn = state.pool.get().await?;
    let outcome = api_keys::set_expiration_for_account(
        &mut conn,
        current.user.id,
        id,
        expiration.as_option(),
        &origin(&req),
    )
    .await?;
    drop(conn);
    match outcome {
        EditOutcome::Updated(row) => {
            let when = match row.expires_at {
                None => "never expires".to_owned(),
                Some(t) => format!("expires {} ({})", local_datetime(t, tz), tz.name()),
            };
            session.set_flash(&format!("“{}” now {when}.", row.name))?;
            Ok(see_other("/settings/api-keys"))
        }
        EditOutcome::NotFound => Err(AppError::NotFound),
        EditOutcome::Revoked => {
            let msg = "Revoked keys can't be changed — create a new key instead.".to_owned();
            refuse(&state, &current, id, with_error(msg), StatusCode::CONFLICT).await
        }
        EditOutcome::LimitReached => {
            let msg =
                "You already have 10 active keys — revoke one before making this key active again."
                    .to_owned();
            refuse(&state, &current, id, with_error(msg), StatusCode::CONFLICT).await
        }
        EditOutcome::NameTaken => Err(AppError::Internal(anyhow::anyhow!("unexpected outcome"))),
    }
}

/// The rename form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct RenameForm {
    name: String,
}

/// `POST /settings/api-keys/{id}/name`.
pub async fn rename(
    req: HttpRequest,
    path: web::Path<String>,
    form: CsrfForm<RenameForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let raw = form.into_inner().name;
    let with_error = |error: &str| PageInput {
        action: Action::Rename,
        error: Some(error.to_owned()),
        new_name: Some(raw.as_str()),
        expiration: None,
    };
    let name = match KeyName::parse(&raw) {
        Ok(n) => n,
        Err(msg) => {
            return refuse(
                &state,
                &current,
                id,
                with_error(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let mut conn = state.pool.get().await?;
    let outcome =
        api_keys::rename_for_account(&mut conn, current.user.id, id, name.as_str(), &origin(&req))
            .await?;
    drop(conn);
    match outcome {
        EditOutcome::Updated(row) => {
            session.set_flash(&format!("Renamed to “{}”.", row.name))?;
            Ok(see_other("/settings/api-keys"))
        }
        EditOutcome::NotFound => Err(AppError::NotFound),
        EditOutcome::Revoked => {
            let msg = "Revoked keys can't be changed — create a new key instead.";
            refuse(&state, &current, id, with_error(msg), StatusCode::CONFLICT).await
        }
        EditOutcome::NameTaken => {
            let msg = "Name is already used by another key — choose a different name";
            refuse(
                &state,
                &current,
                id,
                with_error(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        EditOutcome::LimitReached => Err(AppError::Internal(anyhow::anyhow!("unexpected outcome"))),
    }
}

/// `POST /settings/api-keys/{id}/revoke`: immediate and permanent; idempotent.
pub async fn revoke(
    req: HttpRequest,
    path: web::Path<String>,
    _form: CsrfForm<TokenOnly>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    let uid = current.user.id;
    match api_keys::revoke_for_account(&mut conn, uid, id, uid, &origin(&req)).await? {
        RevokeOutcome::Revoked(name) => {
            session.set_flash(&format!(
                "Revoked “{name}”. Apps using it now get 401 errors."
            ))?;
        }
        RevokeOutcome::AlreadyRevoked(name) => {
            session.set_flash(&format!("“{name}” was already revoked; nothing changed."))?;
        }
        RevokeOutcome::NotFound => return Err(AppError::NotFound),
    }
    Ok(see_other("/settings/api-keys"))
}

/// `POST /settings/api-keys/{id}/delete`: only revoked or expired keys.
pub async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    _form: CsrfForm<TokenOnly>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    let outcome =
        api_keys::delete_for_account(&mut conn, current.user.id, id, &origin(&req)).await?;
    drop(conn);
    match outcome {
        DeleteOutcome::Deleted(name) => {
            session.set_flash(&format!(
                "Deleted “{name}”. Its history stays in your activity."
            ))?;
            Ok(see_other("/settings/api-keys?show=all"))
        }
        DeleteOutcome::StillActive => {
            let input = PageInput {
                action: Action::Delete,
                error: Some(
                    "Only revoked or expired keys can be deleted — revoke it first.".into(),
                ),
                new_name: None,
                expiration: None,
            };
            refuse(&state, &current, id, input, StatusCode::CONFLICT).await
        }
        DeleteOutcome::NotFound => Err(AppError::NotFound),
    }
}
