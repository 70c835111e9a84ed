//! The key detail page, `GET /settings/api-keys/{id}` (owner only; another account's key is the
//! same 404 as a missing one): the key's facts, its requests in the last 24 h / 7 d / 30 d by
//! outcome, hourly and daily charts with their tables, where it is used from (addresses with an
//! accepted request; refused-only ones apart), its history, and once it stopped, the receipt.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::receipt::{ReceiptView, hourly_since, receipt};
use super::usage_chart::{BASELINE, Chart};
use super::view::KeyView;
use crate::auth::CurrentUser;
use crate::db::{api_keys, audit, usage};
use crate::domain::time::{local_datetime, relative, zone};
use crate::domain::usage::{Counts, Outcome, Usage};
use crate::error::AppError;
use crate::session::TypedSession;
use crate::state::AppState;
use crate::templates::{Layout, render};

/// Events of the key shown.
const HISTORY: i64 = 20;

/// One row of the summary: an outcome and its requests in each window.
pub struct SummaryRow {
    /// "Accepted", "Refused: revoked", … or "All requests".
    pub label: &'static str,
    /// Stable id part (`ok`, `revoked`, …, `total`), for the cells' ids.
    pub code: &'static str,
    /// Last 24 hours.
    pub d1: i64,
    /// Last 7 days.
    pub d7: i64,
    /// Last 30 days.
    pub d30: i64,
}

/// A client address row.
pub struct IpRow {
    /// The address.
    pub ip: String,
    /// First seen (local).
    pub first_seen: String,
    /// Last seen, relative.
    pub last_seen: String,
    /// Last seen (local, exact).
    pub last_seen_title: String,
    /// Requests.
    pub requests: i64,
    /// Of them, refused.
    pub refused: i64,
    /// Of them, accepted from outside the allow list in dry-run.
    pub outside: i64,
}

/// A line of the key's history.
pub struct HistoryRow {
    /// What happened, in words.
    pub text: String,
    /// When (local).
    pub when: String,
    /// From where.
    pub ip: String,
}

/// A chart with its heading and table.
pub struct ChartSection {
    /// The caption.
    pub title: &'static str,
    /// Stable id part (`hourly`, `daily`).
    pub id: &'static str,
    /// What a row is ("Hour", "Day").
    pub unit: &'static str,
    /// The bars.
    pub chart: Chart,
}

#[derive(Template)]
#[template(path = "api_keys/detail.html")]
struct DetailPage {
    layout: Layout,
    key: KeyView,
    /// The key it replaces, if it was made by rolling one that is still rolling.
    replaces: Option<(Uuid, String, String)>,
    /// The key that replaces it (id, both ends), if it was rolled.
    successor: Option<(Uuid, String)>,
    last_client_ip: String,
    last_user_agent: String,
    summary: Vec<SummaryRow>,
    charts: Vec<ChartSection>,
    baseline: f64,
    /// Addresses with at least one accepted request ("used from").
    ips: Vec<IpRow>,
    /// Addresses whose every request was refused (listed by the receipt once it stopped).
    refused_only: Vec<IpRow>,
    receipt: Option<ReceiptView>,
    history: Vec<HistoryRow>,
    user_zone: String,
    /// The busiest window of the last 24 hours, as leased, when the key has a limit.
    rate_peak: Option<i32>,
}

fn summary(u: &Usage) -> Vec<SummaryRow> {
    let row = |label, code, f: &dyn Fn(&Counts) -> i64| SummaryRow {
        label,
        code,
        d1: f(&u.last_24h),
        d7: f(&u.last_7d),
        d30: f(&u.last_30d),
    };
    let mut rows: Vec<SummaryRow> = Outcome::ALL
        .iter()
        .map(|o| row(o.label(), o.as_str(), &|c: &Counts| c.get(*o)))
        .collect();
    rows.push(row("All requests", "total", &|c: &Counts| c.total()));
    rows
}

/// `GET /settings/api-keys/{id}`.
pub async fn page(
    id: web::Path<Uuid>,
    current: web::ReqData<CurrentUser>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let user = &current.user;
    let tz = zone(&user.time_zone);
    let mut conn = state.pool.get().await?;
    let key = api_keys::find_for_account(&mut conn, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = chrono::Utc::now(); // display only: every decision about the key is the database's
    let paused = api_keys::eligibility_for_account(&mut conn, user.id, user.api_keys_enabled)
        .await?
        .keys_paused();
    let since = hourly_since(&key, now);
    let hourly_rows = usage::hourly_for_key(&mut conn, id, since).await?;
    let ips = usage::client_ips_for_key(&mut conn, id).await?;
    let events = audit::list_for_key(&mut conn, user.id, id, HISTORY).await?;
    let rate_peak = match key.rate_limit {
        Some(_) => crate::db::rate::peak_last_day(&mut conn, id).await?,
        None => None,
    };
    let predecessor = api_keys::rolled_onto(&mut conn, user.id, id).await?;
    let successor = match key.rolled_to {
        Some(s) => api_keys::find_for_account(&mut conn, user.id, s).await?,
        None => None,
    };
    drop(conn);
    let used = Usage::from_rows(&hourly_rows, now, tz);
    let receipt = receipt(&key, &ips, &hourly_rows, tz, now);
    let zone_name = tz.name();
    let mut view = KeyView::new(&key, paused, tz, now);
    view.requests_24h = used.last_24h.total();
    let ip_row = |r: &usage::ClientIp| IpRow {
        ip: r.client_ip.clone(),
        first_seen: format!("{} ({zone_name})", local_datetime(r.first_seen, tz)),
        last_seen: relative(r.last_seen, now),
        last_seen_title: format!("{} ({zone_name})", local_datetime(r.last_seen, tz)),
        requests: r.requests,
        refused: r.refused,
        outside: r.outside,
    };
    let mut layout = current.layout(format!("Key {}", key.name), "api-keys");
    layout.flash = session.take_flash();
    let page = DetailPage {
        layout,
        replaces: predecessor
            .filter(|p| p.revoked_at.is_none() && p.expires_at.is_some_and(|e| e > now))
            .map(|p| {
                let stops = p.expires_at.map_or_else(String::new, |t| {
                    format!("{} ({zone_name})", local_datetime(t, tz))
                });
                (p.id, p.display(), stops)
            }),
        successor: successor.map(|s| (s.id, s.display())),
        last_client_ip: key.last_client_ip.clone().unwrap_or_default(),
        last_user_agent: crate::domain::key_name::visible(
            key.last_user_agent.as_deref().unwrap_or_default(),
        ),
        summary: summary(&used),
        charts: vec![
            ChartSection {
                title: "Last 24 hours, by hour",
                id: "hourly",
                unit: "Hour",
                chart: Chart::hourly(&used.hourly, tz),
            },
            ChartSection {
                title: "Last 30 days, by day",
                id: "daily",
                unit: "Day",
                chart: Chart::daily(&used.daily),
            },
        ],
        baseline: BASELINE,
        ips: ips
            .iter()
            .filter(|r| r.requests > r.refused)
            .map(&ip_row)
            .collect(),
        refused_only: ips
            .iter()
            .filter(|r| r.requests <= r.refused)
            .map(&ip_row)
            .collect(),
        receipt,
        history: events
            .iter()
            .map(|e| HistoryRow {
                text: e.action.describe(&e.detail),
                when: format!("{} ({zone_name})", local_datetime(e.created_at, tz)),
                ip: e.ip.clone().unwrap_or_default(),
            })
            .collect(),
        user_zone: zone_name.to_owned(),
        rate_peak,
        key: view,
    };
    render(&page, StatusCode::OK)
}
