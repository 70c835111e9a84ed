//! The words of a notice: one summary line and items (each naming a key, with a link), made
//! from the notice's kind and non-secret payload, in the account's zone. The keys page, the
//! e-mail bodies and the webhook's `data.summary` all read from here, so they say the same.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use super::exposure::RevokeReason;
use super::key_name::visible;
use super::notice::NoticeKind;
use super::time::{local_datetime, relative};
use super::wallet::short_address;

/// One line of a notice, with an optional link (a path on keydesk, e.g. a roll page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The words (names the key when there is one).
    pub text: String,
    /// The link's words ("Roll").
    pub link_label: String,
    /// The link's path (`/settings/api-keys/{id}/roll`), empty for none.
    pub link_path: String,
}

/// What a notice says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeText {
    /// The e-mail subject and the list's headline.
    pub summary: String,
    /// The details, one line each.
    pub items: Vec<Item>,
}

fn item(text: String, label: &str, path: String) -> Item {
    Item {
        text,
        link_label: label.to_owned(),
        link_path: path,
    }
}

/// The words for a notice of `kind` with `payload`, times in `tz`, judged at `now`.
pub fn describe(kind: NoticeKind, payload: &Value, tz: Tz, now: DateTime<Utc>) -> NoticeText {
    let s = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(visible)
            .unwrap_or_default()
    };
    let key_id = s(payload, "key_id");
    let name = s(payload, "name");
    let zone = tz.name();
    match kind {
        NoticeKind::ExpiryDigest => {
            let keys = payload
                .get("keys")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let when = |k: &Value| {
                k.get("expires_at")
                    .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v.clone()).ok())
            };
            let items: Vec<Item> = keys
                .iter()
                .map(|k| {
                    let (name, prefix) = (s(k, "name"), s(k, "prefix"));
                    let text = match when(k) {
                        Some(t) => format!(
                            "“{name}” ({prefix}) {} {} — {} ({zone})",
                            if t <= now { "expired" } else { "expires" },
                            relative(t, now),
                            local_datetime(t, tz)
                        ),
                        None => format!("“{name}” ({prefix}) expires soon"),
                    };
                    let path = format!("/settings/api-keys/{}/roll", s(k, "key_id"));
                    item(text, "Roll", path)
                })
                .collect();
            let summary = match keys.as_slice() {
                [k] => match when(k) {
                    Some(t) if t <= now => format!("API key “{}” has expired", s(k, "name")),
                    Some(t) => format!("API key “{}” expires {}", s(k, "name"), relative(t, now)),
                    None => format!("API key “{}” expires soon", s(k, "name")),
                },
                _ => format!("{} API keys expire soon or have expired", items.len()),
            };
            NoticeText { summary, items }
        }
        NoticeKind::NewClientIp => NoticeText {
            summary: format!("“{name}” was used from a new address"),
            items: vec![item(
                format!(
                    "“{name}” ({}) was used from {}, an address not seen for it in the last 30 days. If that wasn't you, revoke the key.",
                    s(payload, "prefix"),
                    s(payload, "ip")
                ),
                "View key",
                format!("/settings/api-keys/{key_id}"),
            )],
        },
        NoticeKind::UsageAlert => {
            let n = |k: &str| payload.get(k).and_then(Value::as_i64).unwrap_or(0);
            let hour = payload
                .get("hour")
                .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v.clone()).ok())
                .map(|t| format!("{} ({zone})", local_datetime(t, tz)))
                .unwrap_or_default();
            let text = if s(payload, "rule") == "rate_limited" {
                format!(
                    "“{name}” was refused {} times by its rate limit in the hour from {hour} (your alert: more than {})",
                    n("rate_limited"),
                    n("threshold")
                )
            } else if s(payload, "rule") == "refusal_rate" {
                format!(
                    "“{name}”: {} of {} requests were refused in the hour from {hour} (your alert: above {} %)",
                    n("refused"),
                    n("requests"),
                    n("threshold")
                )
            } else {
                format!(
                    "“{name}” made {} requests in the hour from {hour} (your alert: more than {})",
                    n("requests"),
                    n("threshold")
                )
            };
            NoticeText {
                summary: format!("Usage alert for “{name}”"),
                items: vec![item(text, "View usage", format!("/settings/api-keys/{key_id}"))],
            }
        }
        NoticeKind::KeyExposedRevoked
            if RevokeReason::parse(&s(payload, "reason")) == Some(RevokeReason::Reported) =>
        {
            NoticeText {
            summary: format!("“{name}” was reported as leaked and revoked"),
            items: vec![item(
                format!("Someone holding the secret of “{name}” ({}) asked for it to be revoked, and it was. Create or roll a replacement for the apps that used it.", s(payload, "prefix")),
                "What to do",
                format!("/settings/api-keys/{key_id}"),
            )],
        }
        }
        NoticeKind::KeyExposedRevoked => {
            let found = s(payload, "url");
            let text = if found.is_empty() {
                format!("“{name}” ({}) was found exposed and revoked. Create a new key for the apps that used it.", s(payload, "prefix"))
            } else {
                format!("“{name}” ({}) was found in a public place ({found}) and revoked. Create a new key for the apps that used it.", s(payload, "prefix"))
            };
            NoticeText {
                summary: format!("“{name}” was found exposed and revoked"),
                items: vec![item(text, "What to do", format!("/settings/api-keys/{key_id}"))],
            }
        }
        NoticeKind::WalletUnlinked => NoticeText {
            summary: "Your API keys are paused".into(),
            items: vec![item(
                format!(
                    "Wallet {} was unlinked, so no self-custodied wallet is left: your keys are refused until you link one again.",
                    short_address(&s(payload, "address"))
                ),
                "Link a wallet",
                "/settings/wallets".into(),
            )],
        },
        NoticeKind::ApiKeysDisabled => NoticeText {
            summary: "API keys were turned off for your account".into(),
            items: vec![item(
                "An operator turned API keys off for your account: your keys are paused (refused) until they are turned on again.".into(),
                "",
                String::new(),
            )],
        },
        NoticeKind::KeyPaused => NoticeText {
            summary: format!("“{name}” was paused"),
            items: vec![item(
                format!(
                    "“{name}” ({}) was paused: every request with it is refused (401 paused) until it is resumed. If that wasn't you, revoke it.",
                    s(payload, "prefix")
                ),
                "View key",
                format!("/settings/api-keys/{key_id}"),
            )],
        },
        NoticeKind::KeyResumed => NoticeText {
            summary: format!("“{name}” was resumed"),
            items: vec![item(
                format!(
                    "“{name}” ({}) was resumed and works again. If that wasn't you, revoke it.",
                    s(payload, "prefix")
                ),
                "View key",
                format!("/settings/api-keys/{key_id}"),
            )],
        },
        NoticeKind::WebhookTest => NoticeText {
            summary: "Test event".into(),
            items: vec![item(
                "This is a test event from keydesk: your webhook works.".into(),
                "",
                String::new(),
            )],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn the_digest_names_each_key_with_its_roll_link() {
        let now = Utc::now();
        let key = uuid::Uuid::new_v4();
        let p = serde_json::json!({"keys": [{
            "key_id": key, "name": "buyback-script", "prefix": "phy_a81Lmz0Q",
            "expires_at": now + Duration::days(6) + Duration::hours(1), "milestone": "7d"
        }]});
        let t = describe(NoticeKind::ExpiryDigest, &p, Tz::Europe__Berlin, now);
        assert_eq!(t.items.len(), 1);
        assert!(t.items[0].text.contains("buyback-script"), "{:?}", t);
        assert!(t.items[0].text.contains("in 6 days"), "{:?}", t);
        assert!(t.items[0].text.contains("Europe/Berlin"), "{:?}", t);
        assert_eq!(
            t.items[0].link_path,
            format!("/settings/api-keys/{key}/roll")
        );
    }

    #[test]
    fn every_kind_has_words_even_with_an_empty_payload() {
        for k in NoticeKind::ALL {
            let t = describe(k, &serde_json::json!({}), Tz::UTC, Utc::now());
            assert!(!t.summary.is_empty());
        }
    }
}
