//! Notifications: what can be told (`NoticeKind`), the event types a user switches per channel
//! (`EventType` × `Channel`, with the defaults), an outbox row's state (`DeliveryStatus`), the
//! expiry milestones, and the retry schedule. Each enum's codes come from `text_enum!`.

use chrono::{DateTime, Duration, Utc};

text_enum! {
    /// Something a notice tells.
    #[derive(Hash)]
    pub enum NoticeKind {
        /// Keys that now expire within 7 days, within 1 day, or have expired.
        ExpiryDigest = "expiry_digest",
        /// A key was used from a client address not seen for it in 30 days.
        NewClientIp = "new_client_ip",
        /// A usage alert rule fired.
        UsageAlert = "usage_alert",
        /// A key was revoked because it was found exposed (e.g. in a public repository).
        KeyExposedRevoked = "key_exposed_revoked",
        /// The last self-custodied wallet was unlinked: the account's keys are paused.
        WalletUnlinked = "wallet_unlinked",
        /// An operator turned API keys off: the account's keys are paused.
        ApiKeysDisabled = "api_keys_disabled",
        /// The "send test event" button (webhook only).
        WebhookTest = "webhook_test",
        /// Its owner paused a key.
        KeyPaused = "key_paused",
        /// Its owner resumed a paused key.
        KeyResumed = "key_resumed",
    }
}

impl NoticeKind {
    /// The switchable event type it belongs to (`None`: the webhook test, always sent).
    pub fn event_type(self) -> Option<EventType> {
        match self {
            NoticeKind::ExpiryDigest => Some(EventType::Expiry),
            NoticeKind::NewClientIp => Some(EventType::NewAddress),
            NoticeKind::UsageAlert => Some(EventType::UsageAlert),
            NoticeKind::KeyExposedRevoked
            | NoticeKind::WalletUnlinked
            | NoticeKind::ApiKeysDisabled
            | NoticeKind::KeyPaused
            | NoticeKind::KeyResumed => Some(EventType::Security),
            NoticeKind::WebhookTest => None,
        }
    }

    /// The webhook event `type` (dotted, as Standard Webhooks suggests).
    pub fn webhook_type(self) -> &'static str {
        match self {
            NoticeKind::ExpiryDigest => "key.expiry_digest",
            NoticeKind::NewClientIp => "key.new_client_ip",
            NoticeKind::UsageAlert => "key.usage_alert",
            NoticeKind::KeyExposedRevoked => "key.revoked_exposed",
            NoticeKind::WalletUnlinked => "account.wallet_unlinked",
            NoticeKind::ApiKeysDisabled => "account.api_keys_disabled",
            NoticeKind::WebhookTest => "webhook.test",
            NoticeKind::KeyPaused => "key.paused",
            NoticeKind::KeyResumed => "key.resumed",
        }
    }
}

text_enum! {
    /// What a user switches on or off per channel.
    #[derive(Hash)]
    pub enum EventType {
        /// The expiry digest.
        Expiry = "expiry",
        /// Use from a new client address.
        NewAddress = "new_address",
        /// Usage alert rules.
        UsageAlert = "usage_alert",
        /// Exposed key revoked, wallet unlinked, API keys disabled.
        Security = "security",
    }
}

impl EventType {
    /// The row label on the settings page.
    pub fn label(self) -> &'static str {
        match self {
            EventType::Expiry => "Keys expiring (daily digest)",
            EventType::NewAddress => "A key used from a new address",
            EventType::UsageAlert => "Usage alerts",
            EventType::Security => "Security: key revoked as exposed, keys paused or resumed",
        }
    }

    /// Whether switching it off on any channel needs a recent password (sudo mode): the events
    /// that tell of a key or the account being in someone else's hands — security notices (a
    /// key revoked as exposed, the last wallet unlinked, API keys turned off) and use from a
    /// new client address. Expiry digests and usage alerts are the owner's housekeeping.
    pub fn is_security(self) -> bool {
        matches!(self, EventType::Security | EventType::NewAddress)
    }

    /// The default: e-mail and in-app for expiry and security, in-app only for new addresses
    /// and alerts; the webhook is on for everything (it only matters once one is set up).
    pub fn default_on(self, channel: Channel) -> bool {
        match channel {
            Channel::InApp | Channel::Webhook => true,
            Channel::Email => matches!(self, EventType::Expiry | EventType::Security),
        }
    }
}

text_enum! {
    /// A way of telling.
    #[derive(Hash)]
    pub enum Channel {
        /// E-mail to the account's address.
        Email = "email",
        /// The account's signed webhook.
        Webhook = "webhook",
        /// The list on the keys page.
        InApp = "in_app",
    }
}

impl Channel {
    /// The column heading on the settings page.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Email => "E-mail",
            Channel::Webhook => "Webhook",
            Channel::InApp => "In app",
        }
    }
}

text_enum! {
    /// Where an outbox row stands.
    #[derive(Hash)]
    pub enum DeliveryStatus {
        /// Waiting for (another) attempt.
        Pending = "pending",
        /// Sent.
        Delivered = "delivered",
        /// Every attempt failed; kept for inspection.
        Failed = "failed",
        /// The channel is not set up (no SMTP server, no webhook any more).
        Skipped = "skipped",
    }
}

text_enum! {
    /// How close a key is to its expiry, for the digest.
    #[derive(Hash, PartialOrd, Ord)]
    pub enum Milestone {
        /// Expires within 7 days.
        Week = "7d",
        /// Expires within 1 day.
        Day = "1d",
        /// Has expired (within the last 7 days).
        Expired = "expired",
    }
}

impl Milestone {
    /// The milestone of a key expiring at `expires_at`, judged at `now` (the database's clock);
    /// `None` when it is further than 7 days away or expired more than 7 days ago.
    pub fn of(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<Milestone> {
        if expires_at <= now - Duration::days(7) || expires_at > now + Duration::days(7) {
            None
        } else if expires_at <= now {
            Some(Milestone::Expired)
        } else if expires_at <= now + Duration::days(1) {
            Some(Milestone::Day)
        } else {
            Some(Milestone::Week)
        }
    }
}

/// Whether going from the switches `before` to `after` turns a security event off on some
/// channel (`EventType::is_security`): a loosening that needs a recent password. Switching
/// anything on, or another event off, does not.
pub fn silences_security(
    before: impl Fn(EventType, Channel) -> bool,
    after: impl Fn(EventType, Channel) -> bool,
) -> bool {
    EventType::ALL.iter().filter(|e| e.is_security()).any(|e| {
        Channel::ALL
            .iter()
            .any(|c| before(*e, *c) && !after(*e, *c))
    })
}

/// The wait before attempt `attempt + 1` after `attempt` failed ones: `base · 2^(attempt−1)`,
/// capped at an hour, then scaled by `jitter` ∈ [0, 1] into its upper half (so retries from
/// many rows spread out but never come sooner than half the schedule).
pub fn backoff(base: std::time::Duration, attempt: u32, jitter: f64) -> std::time::Duration {
    let cap = std::time::Duration::from_secs(3600);
    let exp = attempt.saturating_sub(1).min(20);
    let full = base.saturating_mul(1u32 << exp).min(cap);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_switching_a_security_event_off_silences_security() {
        let defaults = |e: EventType, c: Channel| e.default_on(c);
        let without = |off: (EventType, Channel)| move |e, c| (e, c) != off && defaults(e, c);
        for e in EventType::ALL {
            for c in Channel::ALL {
                let off = without((e, c));
                assert_eq!(
                    silences_security(defaults, off),
                    e.is_security() && e.default_on(c),
                    "{e:?} {c:?}"
                );
                // switching on never silences anything
                assert!(!silences_security(off, defaults), "{e:?} {c:?}");
            }
        }
        assert!(EventType::Security.is_security() && EventType::NewAddress.is_security());
        assert!(!EventType::Expiry.is_security() && !EventType::UsageAlert.is_security());
        assert!(!silences_security(defaults, |_, _| true));
    }

    #[test]
    fn every_code_round_trips() {
        for k in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(k.as_str()), Some(k));
        }
        for e in EventType::ALL {
            assert_eq!(EventType::parse(e.as_str()), Some(e));
            assert!(!e.label().is_empty());
        }
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        for s in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
        for m in Milestone::ALL {
            assert_eq!(Milestone::parse(m.as_str()), Some(m));
        }
        assert_eq!(NoticeKind::parse("nope"), None);
    }

    #[test]
    fn defaults_follow_the_issue() {
        use Channel::*;
        use EventType::*;
        assert!(Expiry.default_on(Email) && Expiry.default_on(InApp));
        assert!(Security.default_on(Email) && Security.default_on(InApp));
        assert!(!NewAddress.default_on(Email) && NewAddress.default_on(InApp));
        assert!(!UsageAlert.default_on(Email) && UsageAlert.default_on(InApp));
        assert_eq!(NoticeKind::WebhookTest.event_type(), None);
        assert_eq!(
            NoticeKind::KeyExposedRevoked.event_type(),
            Some(EventType::Security)
        );
    }

    #[test]
    fn milestones_by_distance() {
        let now = Utc::now();
        let m = |d: Duration| Milestone::of(now + d, now);
        assert_eq!(m(Duration::days(8)), None);
        assert_eq!(m(Duration::days(7)), Some(Milestone::Week));
        assert_eq!(m(Duration::hours(25)), Some(Milestone::Week));
        assert_eq!(m(Duration::hours(24)), Some(Milestone::Day));
        assert_eq!(m(Duration::seconds(1)), Some(Milestone::Day));
        assert_eq!(m(Duration::zero()), Some(Milestone::Expired));
        assert_eq!(m(-Duration::days(6)), Some(Milestone::Expired));
        assert_eq!(m(-Duration::days(7)), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let base = std::time::Duration::from_secs(30);
        assert_eq!(backoff(base, 1, 1.0), base);
        assert_eq!(backoff(base, 1, 0.0), base / 2);
        assert_eq!(backoff(base, 3, 1.0), base * 4);
        assert_eq!(backoff(base, 40, 1.0), std::time::Duration::from_secs(3600));
        assert!(backoff(base, 2, 0.3) >= base);
    }
}
