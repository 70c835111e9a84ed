//! The receipt on a stopped (revoked or expired) key's page: when and why it stopped
//! (`domain::receipt`), its last accepted request, and the refused requests since, by address.
//! Read from what the page loads anyway (the key, its hourly counts, its addresses): no query
//! of its own.
//!
//! Per address keydesk keeps totals (requests, of them refused, first and last seen), not
//! counts since a moment. So an address is marked when it was seen after the stop (every
//! request after the stop was refused), and "new" when it was first seen after it (all its
//! requests are refusals since); the total since comes from the hourly counts, where a stopped
//! key's refusals have their own outcome.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::db::api_keys::KeyRow;
use crate::db::usage::{ClientIp, RETENTION_DAYS};
use crate::domain::key_name::visible;
use crate::domain::receipt::{Stop, StopFacts, stops};
use crate::domain::time::{local_datetime, relative};
use crate::domain::usage::{Outcome, hour_of};

/// One way the key stopped.
pub struct StopLine {
    /// Who or what stopped it.
    pub by: &'static str,
    /// When (local, zone named).
    pub when: String,
    /// When, relative.
    pub relative: String,
}

/// An address refused at least once.
pub struct RefusedRow {
    /// The address.
    pub ip: String,
    /// Its refused requests (all it has, kept 90 days).
    pub refused: i64,
    /// First seen (local).
    pub first_seen: String,
    /// Last seen, relative.
    pub last_seen: String,
    /// Last seen (local, exact).
    pub last_seen_title: String,
    /// Its latest user agent (controls shown as code points).
    pub user_agent: String,
    /// Seen after the key stopped.
    pub after_stop: bool,
    /// First seen after the key stopped: every request from it was a refusal since.
    pub new_since: bool,
}

/// What a stopped key's page says about its end.
pub struct ReceiptView {
    /// How it stopped, oldest first (an expired key revoked later has two).
    pub stops: Vec<StopLine>,
    /// The last accepted request (local time), empty when none was recorded.
    pub last_accepted: String,
    /// …relative.
    pub last_accepted_relative: String,
    /// …from this address (empty when unknown).
    pub last_accepted_ip: String,
    /// Requests refused since it stopped (within the 90 days usage is kept).
    pub refused_since: i64,
    /// Addresses seen since it stopped.
    pub addresses_since: usize,
    /// Every address refused at least once, most recent first.
    pub addresses: Vec<RefusedRow>,
}

fn facts(k: &KeyRow) -> StopFacts {
    StopFacts {
        account: k.account_id,
        revoked_at: k.revoked_at,
        revoked_by: k.revoked_by,
        revoked_reason: k.revoked_reason,
        rolled_at: k.rolled_at,
        expires_at: k.expires_at,
    }
}

/// Where the page's hourly counts start: the 31 days the charts need, or back to when the key
/// stopped (at most the 90 days usage is kept), so the receipt counts every refusal since.
pub fn hourly_since(k: &KeyRow, now: DateTime<Utc>) -> DateTime<Utc> {
    let charts = hour_of(now) - Duration::days(31);
    match stops(&facts(k), now).first() {
        Some(s) => hour_of(s.at)
            .max(now - Duration::days(RETENTION_DAYS))
            .min(charts),
        None => charts,
    }
}

/// The receipt of `k`, None while it still works.
pub fn receipt(
    k: &KeyRow,
    ips: &[ClientIp],
    hourly: &[(DateTime<Utc>, Outcome, i64)],
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<ReceiptView> {
    let all = stops(&facts(k), now);
    let first: Stop = *all.first()?;
    let zone = tz.name();
    let at = |t: DateTime<Utc>| format!("{} ({zone})", local_datetime(t, tz));
    let refusals: Vec<Outcome> = all.iter().map(|s| s.cause.refusal()).collect();
    let refused_since = hourly
        .iter()
        .filter(|(hour, outcome, _)| *hour >= hour_of(first.at) && refusals.contains(outcome))
        .map(|(_, _, n)| n)
        .sum();
    let addresses: Vec<RefusedRow> = ips
        .iter()
        .filter(|r| r.refused > 0)
        .map(|r| RefusedRow {
            ip: r.client_ip.clone(),
            refused: r.refused,
            first_seen: at(r.first_seen),
            last_seen: relative(r.last_seen, now),
            last_seen_title: at(r.last_seen),
            user_agent: visible(r.user_agent.as_deref().unwrap_or_default()),
            after_stop: r.last_seen > first.at,
            new_since: r.first_seen > first.at,
        })
        .collect();
    Some(ReceiptView {
        stops: all
            .iter()
            .map(|s| StopLine {
                by: s.cause.by(),
                when: at(s.at),
                relative: relative(s.at, now),
            })
            .collect(),
        last_accepted: k.last_used_at.map(at).unwrap_or_default(),
        last_accepted_relative: k.last_used_at.map(|t| relative(t, now)).unwrap_or_default(),
        last_accepted_ip: k.last_client_ip.clone().unwrap_or_default(),
        refused_since,
        addresses_since: addresses.iter().filter(|a| a.after_stop).count(),
        addresses,
    })
}
