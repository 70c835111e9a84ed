//! Roll: `GET/POST /settings/api-keys/{id}/roll`. A new secret for the same key settings,
//! while the old one keeps working for the chosen grace period (now, 1 h, 24 h, 7 d). The
//! response shows the new secret once, exactly like create. Needs a recent password.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::sudo::{self, AsksPassword, owned_key};
use super::view::{PageState, PresetView, SecretView, render_page};
use crate::auth::CurrentUser;
use crate::auth::reauth::{self, Reauth};
use crate::db::api_keys::{self, Grace, KeyRow, KeySpec, NewKey, RollOutcome};
use crate::domain::expiration::{PRESETS, choice_for};
use crate::domain::key_status::{REVOKED_IS_FINAL, ROLLING_IS_FINAL, is_expired};
use crate::domain::time::{local_datetime, local_input, relative, zone};
use crate::domain::{Expiration, ExpirationInput};
use crate::error::AppError;
use crate::routes::origin;
use crate::session::{CsrfForm, TypedSession};
use crate::state::AppState;
use crate::templates::{Layout, render};

/// A grace-period choice.
struct GraceView {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

/// The roll page (the no-JavaScript path, and where refusals and errors are shown).
#[derive(Template)]
#[template(path = "api_keys/roll.html")]
struct RollPage {
    layout: Layout,
    key_id: Uuid,
    name: String,
    display: String,
    expires: String,
    last_used: String,
    error: Option<String>,
    can_submit: bool,
    graces: Vec<GraceView>,
    grace_error: Option<String>,
    presets: Vec<PresetView>,
    custom_selected: bool,
    custom_expiration: String,
    custom_min: String,
    expiration_error: Option<String>,
    user_zone: String,
    request_id: String,
    password_required: bool,
    password_error: Option<String>,
}

/// The roll form, as sent.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct RollForm {
    grace: String,
    expiration: String,
    custom_expiration: String,
    request_id: String,
    /// Only when the password is asked for again; never echoed back.
    password: String,
}

/// Why this key can't be rolled, if it can't.
fn refusal(key: &KeyRow, now: DateTime<Utc>) -> Option<&'static str> {
    if key.revoked_at.is_some() {
        Some(REVOKED_IS_FINAL)
    } else if key.rolled_at.is_some() {
        Some(ROLLING_IS_FINAL)
    } else if is_expired(key.expires_at, now) {
        Some("This key has expired: change its expiration to use it again, or create a new key.")
    } else {
        None
    }
}

fn page(current: &CurrentUser, key: &KeyRow, form: &RollForm, now: DateTime<Utc>) -> RollPage {
    let tz: Tz = zone(&current.user.time_zone);
    let successor = Expiration::for_successor(key.expires_at, key.expiry_days, now);
    let (choice, custom) = if form.expiration.is_empty() {
        let choice = choice_for(key.expires_at, key.expiry_days);
        let custom = match successor {
            Some(Expiration::At(t)) if choice == "custom" => local_input(t, tz),
            _ => String::new(),
        };
        (choice, custom)
    } else {
        (form.expiration.clone(), form.custom_expiration.clone())
    };
    let grace = if form.grace.is_empty() {
        "24h"
    } else {
        form.grace.as_str()
    };
    RollPage {
        layout: current.layout("Roll key", "api-keys"),
        key_id: key.id,
        name: crate::domain::key_name::visible(&key.name),
        display: key.display(),
        expires: match key.expires_at {
            None => "Never expires".into(),
            Some(t) => format!("Expires {} ({})", local_datetime(t, tz), tz.name()),
        },
        last_used: key.last_used_at.map_or_else(
            || "Never used".to_owned(),
            |t| format!("Last used {}", relative(t, now)),
        ),
        error: refusal(key, now).map(str::to_owned),
        can_submit: refusal(key, now).is_none(),
        graces: Grace::ALL
            .iter()
            .map(|g| GraceView {
                value: g.as_str(),
                label: g.label(),
                checked: g.as_str() == grace,
            })
            .collect(),
        grace_error: None,
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
        expiration_error: None,
        user_zone: tz.name().to_owned(),
        request_id: Uuid::parse_str(form.request_id.trim())
            .unwrap_or_else(|_| Uuid::new_v4())
            .to_string(),
        // set by the caller, which knows the settings and the clock it decides on
        password_required: false,
        password_error: None,
    }
}

/// `GET /settings/api-keys/{id}/roll`.
pub async fn show(
    id: web::Path<Uuid>,
    current: web::ReqData<CurrentUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let key = owned_key(&state, &current, id.into_inner()).await?;
    let mut view = page(&current, &key, &RollForm::default(), Utc::now());
    view.password_required = reauth::needs_password(&current, &state.settings);
    render(&view, StatusCode::OK)
}

/// `POST /settings/api-keys/{id}/roll`.
pub async fn submit(
    req: HttpRequest,
    id: web::Path<Uuid>,
    form: CsrfForm<RollForm>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let settings = &state.settings;
    let tz = zone(&current.user.time_zone);
    let now = {
        let mut conn = state.pool.get().await?;
        crate::db::now(&mut conn).await?
    };
    let key = owned_key(&state, &current, id.into_inner()).await?;
    let mut view = page(&current, &key, &form, now);
    view.password_required =
        !reauth::is_recent(current.authenticated_at, now, settings.reauth_window);
    if !view.can_submit {
        // A resubmitted form finds the key rolling already: say what the first one did.
        if let Ok(rid) = Uuid::parse_str(form.request_id.trim()) {
            let mut conn = state.pool.get().await?;
            let done = api_keys::find_by_request_id(&mut conn, current.user.id, rid).await?;
            if let Some(done) = done {
                return already_rolled(&mut conn, &current, settings, &done).await;
            }
        }
        return render(&view, StatusCode::CONFLICT);
    }
    let grace = Grace::parse(&form.grace);
    let input = ExpirationInput {
        expiration: form.expiration.clone(),
        custom_expiration: form.custom_expiration.clone(),
    };
    let expiration = Expiration::parse(&input, now, tz);
    let request_id = Uuid::parse_str(form.request_id.trim());
    let (Some(grace), Ok(expiration), Ok(request_id)) = (grace, &expiration, &request_id) else {
        if grace.is_none() {
            view.grace_error = Some("Choose when the old key stops working".into());
        }
        view.expiration_error = expiration.err();
        if request_id.is_err() {
            view.error = Some("This form is out of date — check the details and roll again".into());
        }
        return render(&view, StatusCode::UNPROCESSABLE_ENTITY);
    };

    let asked = reauth::confirm(&req, &session, &current, &state, &form.password, now).await?;
    if asked != Reauth::Confirmed {
        return sudo::password_refused(view, &asked);
    }

    let spec = KeySpec {
        name: key.name.clone(),
        note: key.note.clone(),
        scopes: key.scopes.clone(),
        expires_at: expiration.as_option(),
        expiry_days: input
            .preset_days()
            .filter(|_| expiration.as_option().is_some()),
        // the successor keeps the old key's bounds: a roll never loosens them
        rate_limit: key.rate_limit,
    };
    let (secret, row) = NewKey::generate(&state.key_hasher, current.user.id, spec, *request_id);
    let mut conn = state.pool.get().await?;
    let outcome = api_keys::roll_for_account(&mut conn, key.id, row, grace, &origin(&req)).await?;
    let (page_state, status) = match outcome {
        RollOutcome::Rolled { successor, old } => {
            tracing::info!(key_id = %old.id, successor_id = %successor.id, "api key rolled");
            let stops = match (old.revoked_at, old.expires_at) {
                (Some(_), _) | (None, None) => "stopped working now".to_owned(),
                (None, Some(t)) => format!("works until {} ({})", local_datetime(t, tz), tz.name()),
            };
            let notice = format!(
                "Rolled “{}”. The old key {} {stops}; the new key below replaces it.",
                old.name,
                old.display()
            );
            let secret = Some(SecretView::new(&secret, &successor, tz));
            (
                PageState {
                    secret,
                    notice: Some(notice),
                    ..Default::default()
                },
                StatusCode::OK,
            )
        }
        RollOutcome::AlreadyRolled(done) => {
            return already_rolled(&mut conn, &current, settings, &done).await;
        }
        RollOutcome::NotFound => return Err(AppError::NotFound),
        RollOutcome::Revoked | RollOutcome::Expired | RollOutcome::Rolling => {
            // Changed between the check above and the transaction: show why, from the row now.
            drop(conn);
            let key = owned_key(&state, &current, key.id).await?;
            return render(&page(&current, &key, &form, now), StatusCode::CONFLICT);
        }
    };
    let mut res = render_page(&mut conn, &current, settings, page_state, status).await?;
    // The secret is in this body only: no cache may keep it, and it is not compressed.
    crate::templates::mark_secret_bearing(&mut res);
    Ok(res)
}

/// The keys page saying a resubmitted roll form changed nothing (409): the secret is never shown
/// twice.
async fn already_rolled(
    conn: &mut diesel_async::AsyncPgConnection,
    current: &CurrentUser,
    settings: &crate::config::Settings,
    successor: &KeyRow,
) -> Result<HttpResponse, AppError> {
    let notice = format!(
        "This form was already submitted, and the key was rolled then: its successor is {}. Its secret is shown only once: if you didn't copy it, roll that key again.",
        successor.display()
    );
    let page = PageState {
        notice: Some(notice),
        ..Default::default()
    };
    render_page(conn, current, settings, page, StatusCode::CONFLICT).await
}

impl AsksPassword for RollPage {
    fn ask_password(&mut self, why: String) {
        self.password_required = true;
        self.password_error = Some(why);
    }
}
