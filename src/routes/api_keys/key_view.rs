//! One row of the keys list: what a person reads about a key at a glance.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::exposure_view::ExposureView;
use crate::db::api_keys::KeyRow;
use crate::domain::KeyStatus;
use crate::domain::key_status::{is_deletable, used_recently};
use crate::domain::network::NetworkMode;
use crate::domain::time::{local_date, local_datetime, relative};

/// One row of the list.
pub struct KeyView {
    /// Public id.
    pub id: Uuid,
    /// The name its owner gave it.
    pub name: String,
    /// Both ends of the key, `phy_7QkR2mXa…Jx9QzA`.
    pub display: String,
    /// What the key is for (second line of the row; may be empty).
    pub note: String,
    /// Scope names.
    pub scopes: Vec<&'static str>,
    /// "Never", a local date-time, or "Expired 3 days ago".
    pub expires: String,
    /// Relative hint ("in 5 days") or exact time on hover.
    pub expires_hint: String,
    /// Within 7 days.
    pub expires_soon: bool,
    /// "Never" or "4 minutes ago".
    pub last_used: String,
    /// Exact time of the last use.
    pub last_used_title: String,
    /// Local date.
    pub created: String,
    /// Exact creation time.
    pub created_title: String,
    /// Status word.
    pub status: String,
    /// Status CSS modifier.
    pub status_css: &'static str,
    /// Revoked: no edits, no revoke.
    pub revoked: bool,
    /// Rolling: works until `expires`; may only be stopped early (revoked).
    pub rolling: bool,
    /// Client address of the last use (shown for rolling keys: is anything still using it?).
    pub last_client_ip: String,
    /// Revoked or expired: may be deleted.
    pub deletable: bool,
    /// "4 minutes ago" when used in the last 7 days, else empty (the revoke warning).
    pub recent_use: String,
    /// Requests that matched the key in the last 24 hours, accepted or refused.
    pub requests_24h: i64,
    /// Why a paused key is paused ("API keys aren't enabled"), else empty.
    pub pause_reason: &'static str,
    /// Why and where it was found exposed, for a key revoked without its owner.
    pub exposure: Option<ExposureView>,
    /// Paused by its owner (not only by the account's eligibility).
    pub owner_paused: bool,
    /// The network binding in a few words ("Off — any address", "Enforced: 2 ranges").
    pub network: String,
    /// Bound to networks (dry-run or enforced).
    pub network_bound: bool,
    /// "600 a minute" or "None".
    pub rate: String,
    /// Has a rate limit.
    pub rate_limited: bool,
    /// Has a scope that spends money (its caps page is linked).
    pub moves_money: bool,
    /// Its status is Paused.
    paused: bool,
}

/// Why a key its owner paused is paused.
pub const OWNER_PAUSED: &str = "paused by you: requests get 401 paused until you resume it";

impl KeyView {
    /// A row for `k`, with times in `tz`.
    pub fn new(k: &KeyRow, paused: bool, tz: Tz, now: DateTime<Utc>) -> Self {
        let owner_paused = k.paused_at.is_some();
        let status = KeyStatus::of(k.dates(), paused || owner_paused, now);
        let binding = k.binding();
        let ranges = binding.networks.ranges().len();
        let plural = if ranges == 1 { "" } else { "s" };
        let network = match binding.mode {
            NetworkMode::Off => "Off — any address".to_owned(),
            NetworkMode::DryRun => format!("Dry-run of {ranges} range{plural}"),
            NetworkMode::Enforce => format!("Enforced: {ranges} range{plural}"),
        };
        let zone = tz.name();
        let rolling = status == KeyStatus::Rolling;
        let (expires, expires_hint) = match k.expires_at {
            None => ("Never".to_owned(), String::new()),
            Some(t) if t <= now => (
                format!("Expired {}", relative(t, now)),
                format!("{} ({zone})", local_datetime(t, tz)),
            ),
            Some(t) if rolling => (format!("Stops {}", local_datetime(t, tz)), relative(t, now)),
            Some(t) => (local_datetime(t, tz), relative(t, now)),
        };
        let (last_used, last_used_title) = match k.last_used_at {
            None => ("Never".to_owned(), String::new()),
            Some(t) => (
                relative(t, now),
                format!("{} ({zone})", local_datetime(t, tz)),
            ),
        };
        Self {
            id: k.id,
            name: crate::domain::key_name::visible(&k.name),
            display: k.display(),
            note: crate::domain::key_name::visible(&k.note),
            scopes: k.scopes.iter().map(|s| s.as_str()).collect(),
            expires,
            expires_hint,
            expires_soon: status == KeyStatus::ExpiresSoon || rolling,
            last_used,
            last_used_title,
            created: local_date(k.created_at, tz),
            created_title: format!("{} ({zone})", local_datetime(k.created_at, tz)),
            // "Revoked — found exposed" says more than "Revoked" and asks for action
            status: k
                .revoked_reason
                .filter(|_| status == KeyStatus::Revoked)
                .map_or(status.label(), |r| r.status_label())
                .to_owned(),
            status_css: if k.revoked_reason.is_some() && status == KeyStatus::Revoked {
                "exposed" // a longer word that wraps, in the alert colour: it asks for action
            } else {
                status.css()
            },
            revoked: status == KeyStatus::Revoked,
            rolling,
            last_client_ip: k.last_client_ip.clone().unwrap_or_default(),
            deletable: is_deletable(k.revoked_at, k.expires_at, now),
            recent_use: k
                .last_used_at
                .filter(|_| used_recently(k.last_used_at, now))
                .map(|t| relative(t, now))
                .unwrap_or_default(),
            requests_24h: 0,
            pause_reason: if owner_paused && status == KeyStatus::Paused {
                OWNER_PAUSED
            } else {
                ""
            },
            owner_paused,
            network_bound: binding.mode != NetworkMode::Off,
            rate: k
                .rate_limit
                .map_or_else(|| "None".to_owned(), |n| format!("{n} a minute")),
            rate_limited: k.rate_limit.is_some(),
            moves_money: k.scopes.iter().any(|s| s.moves_money()),
            network,
            exposure: ExposureView::of(k, tz, now),
            paused: status == KeyStatus::Paused,
        }
    }

    /// The same row, saying why it is paused when it is.
    pub fn with_pause_reason(mut self, why: Option<&'static str>) -> Self {
        if self.paused && !self.owner_paused {
            self.pause_reason = why.unwrap_or_default();
        }
        self
    }

    /// The same row with its requests of the last 24 hours.
    pub fn with_requests(mut self, requests_24h: &std::collections::HashMap<Uuid, i64>) -> Self {
        self.requests_24h = requests_24h.get(&self.id).copied().unwrap_or(0);
        self
    }
}
