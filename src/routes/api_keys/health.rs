//! The keys page's health summary: the keys that need attention, grouped by why, each with
//! its one-click next step. Empty (and not shown) when all is well.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::api_keys::KeyRow;
use crate::domain::key_health::{Finding, findings};
use crate::domain::network::NetworkMode;
use crate::domain::time::relative;

/// A next step for one key.
pub struct StepView {
    /// Where it leads (the action's own page; the list's dialogs are for the table).
    pub href: String,
    /// What it says.
    pub label: &'static str,
}

/// One key named in the summary.
pub struct HealthKeyView {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// "last used 45 days ago", "never used", "expires in 3 days".
    pub detail: String,
    /// Its next steps.
    pub steps: Vec<StepView>,
}

/// One group of the summary.
pub struct HealthView {
    /// "Expiring within 7 days".
    pub title: &'static str,
    /// What to do about it.
    pub advice: &'static str,
    /// The keys.
    pub keys: Vec<HealthKeyView>,
}

fn step(id: Uuid, action: &str, label: &'static str) -> StepView {
    StepView {
        href: format!("/settings/api-keys/{id}/{action}"),
        label,
    }
}

/// The summary for an account's keys, in `Finding::ALL` order, leaving out empty groups.
pub fn summary(rows: &[KeyRow], now: DateTime<Utc>) -> Vec<HealthView> {
    let found: Vec<(&KeyRow, Vec<Finding>)> = rows
        .iter()
        .map(|k| {
            let money_unbounded =
                k.scopes.iter().any(|s| s.moves_money()) && k.network_mode == NetworkMode::Off;
            (k, findings(k.dates(), k.last_used_at, money_unbounded, now))
        })
        .filter(|(_, f)| !f.is_empty())
        .collect();
    Finding::ALL
        .into_iter()
        .filter_map(|finding| {
            let keys: Vec<HealthKeyView> = found
                .iter()
                .filter(|(_, f)| f.contains(&finding))
                .map(|(k, _)| key_view(k, finding, now))
                .collect();
            if keys.is_empty() {
                return None;
            }
            let (title, advice) = match finding {
                Finding::MovesMoneyFromAnywhere => (
                    "Can spend from any address",
                    "These keys can buy crypto with your money from anywhere on the internet. Restrict each to where it is used: keydesk proposes the addresses from its own use and lets you watch a dry-run first.",
                ),
                Finding::ExpiringSoon => (
                    "Expiring within 7 days",
                    "Roll a key to get a new secret while the old one keeps working for a while, or change its expiration.",
                ),
                Finding::NeverExpires => (
                    "Never expire",
                    "A key without an expiration stays valid for as long as it exists, even if it leaks. Give it one, such as 90 days.",
                ),
                Finding::Unused => (
                    "Not used lately",
                    "Unused for 30 days, or never used since it was made over a week ago. If nothing needs it, revoke it.",
                ),
            };
            Some(HealthView {
                title,
                advice,
                keys,
            })
        })
        .collect()
}

fn key_view(k: &KeyRow, finding: Finding, now: DateTime<Utc>) -> HealthKeyView {
    let (detail, steps) = match finding {
        Finding::MovesMoneyFromAnywhere => (
            String::new(),
            vec![step(
                k.id,
                "network?propose=1",
                "Restrict to where it is used",
            )],
        ),
        Finding::ExpiringSoon => (
            k.expires_at
                .map(|t| format!("expires {}", relative(t, now)))
                .unwrap_or_default(),
            vec![
                step(k.id, "roll", "Roll"),
                step(k.id, "expiration", "Change expiration"),
            ],
        ),
        Finding::NeverExpires => (
            String::new(),
            vec![step(k.id, "expiration", "Set an expiration")],
        ),
        Finding::Unused => (
            match k.last_used_at {
                Some(t) => format!("last used {}", relative(t, now)),
                None => format!("never used, created {}", relative(k.created_at, now)),
            },
            vec![step(k.id, "revoke", "Revoke")],
        ),
    };
    HealthKeyView {
        id: k.id,
        name: crate::domain::key_name::visible(&k.name),
        detail,
        steps,
    }
}
