//! The account page: `GET /support/accounts/{id}`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use uuid::Uuid;

use super::layout;
use crate::auth::CurrentUser;
use crate::db::audit::{self, NewEvent};
use crate::db::{api_keys, users, wallets};
use crate::domain::time::{local_date, local_datetime, zone};
use crate::domain::wallet::short_address;
use crate::domain::{AuditAction, RevokeReason};
use crate::error::AppError;
use crate::routes::api_keys::view::KeyView;
use crate::routes::eligibility_view::{ReasonView, reasons};
use crate::routes::origin;
use crate::session::TypedSession;
use crate::state::AppState;
use crate::templates::{Layout, render};

const TRAIL_PAGE: i64 = 25;

/// A wallet row.
pub struct WalletRow {
    /// Kind label.
    pub kind: &'static str,
    /// Short address.
    pub short: String,
    /// Full address.
    pub address: String,
    /// Linked at.
    pub linked: String,
}

/// A key row plus what only staff see.
pub struct StaffKeyRow {
    /// What the user sees.
    pub key: KeyView,
    /// Revoked at.
    pub revoked_at: String,
    /// Revoked by (e-mail or id).
    pub revoked_by: String,
    /// Client address of the last use, if known.
    pub last_client_ip: String,
    /// The allow list, comma-separated (empty when binding is off).
    pub ranges: String,
    /// Requests a dry-run accepted from outside the list ("would have been refused").
    pub outside: i64,
}

/// An audit row.
pub struct TrailRow {
    /// When it happened.
    pub when: String,
    /// Actor e-mail, or "operator"/"system".
    pub actor: String,
    /// Action code.
    pub action: &'static str,
    /// What it means, in words.
    pub description: String,
    /// Key (prefix or name) if any.
    pub key: String,
    /// IP.
    pub ip: String,
    /// User agent.
    /// The user agent in a few words ("Chrome 120 · Linux").
    pub user_agent_short: String,
    pub user_agent: String,
}

#[derive(Template)]
#[template(path = "support/account.html")]
struct AccountPage {
    layout: Layout,
    account_id: Uuid,
    email: String,
    role: &'static str,
    time_zone: String,
    api_keys_enabled: bool,
    reasons: Vec<ReasonView>,
    active_keys: i64,
    wallets: Vec<WalletRow>,
    keys: Vec<StaffKeyRow>,
    trail: Vec<TrailRow>,
    trail_page: i64,
    trail_more: bool,
    /// Staff's own views are shown (`?staff=1`).
    staff_views: bool,
    staff_zone: String,
}

/// Trail page.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct AccountQuery {
    page: String,
    /// `1`: include staff's own "viewed the account" events.
    staff: String,
}

/// `GET /support/accounts/{id}`.
pub async fn account(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<AccountQuery>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = Uuid::parse_str(&path).map_err(|_| AppError::NotFound)?;
    let trail_page = query.page.parse::<i64>().unwrap_or(1).clamp(1, 10_000);
    let tz = zone(&current.user.time_zone);
    let now = Utc::now();
    let mut conn = state.pool.get().await?;
    let user = users::find(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record(
        &mut conn,
        NewEvent {
            account_id: Some(user.id),
            actor_id: Some(current.user.id),
            action: AuditAction::SupportViewed,
            key_id: None,
            detail: serde_json::json!({ "staff": current.user.email }),
        },
        &origin(&req),
    )
    .await?;
    let eligibility =
        api_keys::eligibility_for_account(&mut conn, user.id, user.api_keys_enabled).await?;
    let paused = eligibility.keys_paused();
    let wallet_rows = wallets::list_for_account(&mut conn, user.id).await?;
    let key_rows = api_keys::list_for_account(&mut conn, user.id, true).await?;
    let outside: HashMap<Uuid, i64> = crate::db::usage::outside_for_account(&mut conn, user.id)
        .await?
        .into_iter()
        .collect();
    let since = crate::domain::usage::hour_of(now) - chrono::Duration::hours(23);
    let requests_24h: HashMap<Uuid, i64> = crate::db::usage::per_key(
        crate::db::usage::since_for_account(&mut conn, user.id, since).await?,
    );
    let staff_views = query.staff == "1";
    let mut events = audit::page_for_account(
        &mut conn,
        user.id,
        staff_views,
        TRAIL_PAGE + 1,
        (trail_page - 1) * TRAIL_PAGE,
    )
    .await?;
    let trail_more = events.len() as i64 > TRAIL_PAGE;
    events.truncate(TRAIL_PAGE as usize);

    let mut people: Vec<Uuid> = events.iter().filter_map(|e| e.actor_id).collect();
    people.extend(key_rows.iter().filter_map(|k| k.revoked_by));
    people.sort();
    people.dedup();
    let emails: HashMap<Uuid, String> = users::find_many(&mut conn, &people)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let who = |id: Option<Uuid>| match id {
        Some(id) => emails.get(&id).cloned().unwrap_or_else(|| id.to_string()),
        None => "operator / system".to_owned(),
    };
    let key_label: HashMap<Uuid, String> = key_rows
        .iter()
        .map(|k| (k.id, format!("{} ({})", k.name, k.display())))
        .collect();

    let mut account_layout = layout(&current, &user.email);
    account_layout.flash = session.take_flash();
    let page = AccountPage {
        layout: account_layout,
        account_id: user.id,
        email: user.email.clone(),
        role: user.role.as_str(),
        time_zone: user.time_zone.clone(),
        api_keys_enabled: user.api_keys_enabled,
        reasons: reasons(&eligibility, &state.settings.support_email),
        active_keys: eligibility.active_keys,
        wallets: wallet_rows
            .iter()
            .map(|w| WalletRow {
                kind: w.kind.label(),
                short: short_address(&w.address),
                address: w.address.clone(),
                linked: local_date(w.linked_at, tz),
            })
            .collect(),
        keys: key_rows
            .iter()
            .map(|k| StaffKeyRow {
                key: KeyView::new(k, paused, tz, now).with_requests(&requests_24h),
                last_client_ip: k.last_client_ip.clone().unwrap_or_default(),
                ranges: k
                    .networks
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                outside: outside.get(&k.id).copied().unwrap_or(0),
                revoked_at: k
                    .revoked_at
                    .map(|t| local_datetime(t, tz))
                    .unwrap_or_default(),
                revoked_by: match (k.revoked_by, k.revoked_reason) {
                    (Some(id), _) => who(Some(id)),
                    (None, Some(RevokeReason::Exposed)) => "keydesk: found exposed".to_owned(),
                    (None, Some(RevokeReason::Reported)) => {
                        "keydesk: reported by someone holding the secret".to_owned()
                    }
                    (None, None) => String::new(),
                },
            })
            .collect(),
        trail: events
            .iter()
            .map(|e| TrailRow {
                when: local_datetime(e.created_at, tz),
                actor: who(e.actor_id),
                action: e.action.as_str(),
                description: e.action.describe(&e.detail),
                key: e
                    .key_id
                    .map(|k| {
                        key_label.get(&k).cloned().unwrap_or_else(|| {
                            e.detail
                                .get("prefix")
                                .and_then(|p| p.as_str())
                                .unwrap_or("deleted key")
                                .to_owned()
                        })
                    })
                    .unwrap_or_default(),
                ip: e.ip.clone().unwrap_or_default(),
                user_agent_short: crate::domain::key_name::visible(
                    &crate::domain::user_agent::short(e.user_agent.as_deref().unwrap_or_default()),
                ),
                user_agent: crate::domain::key_name::visible(
                    e.user_agent.as_deref().unwrap_or_default(),
                ),
            })
            .collect(),
        trail_page,
        trail_more,
        staff_views,
        staff_zone: tz.name().to_owned(),
    };
    render(&page, StatusCode::OK)
}
