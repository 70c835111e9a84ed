//! What state a key is in, as the list and the API see it.

use chrono::{DateTime, Duration, Utc};

/// The dates a key's status is decided from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyDates {
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Expiry (for a rolling key: the end of its grace period); None = never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked when.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Rolled onto a successor when.
    pub rolled_at: Option<DateTime<Utc>>,
}

/// A key's status. Precedence: Revoked, then Expired, then Rolling, then Paused, else Active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Usable.
    Active,
    /// Usable, but expires within 7 days.
    ExpiresSoon,
    /// Past its expiry.
    Expired,
    /// Rolled onto a successor: works until its grace period ends (`expires_at`).
    Rolling,
    /// Revoked (permanent).
    Revoked,
    /// The account is not eligible right now; resumes when it is.
    Paused,
}

/// How close an expiry counts as "soon".
pub const EXPIRES_SOON: Duration = Duration::days(7);

/// How recent a use makes the revoke dialog warn that the key is in use.
pub const RECENT_USE: Duration = Duration::days(7);

/// A key this young is not "expiring soon" (a 7-day key is not a warning on its first day).
pub const NEW_KEY: Duration = Duration::days(1);

/// Why a rolling key can't be re-dated, renamed, re-scoped or rolled again.
pub const ROLLING_IS_FINAL: &str = "This key is being replaced by its successor: it stops at the end of its grace period. Change the new key instead, or stop this one now by revoking it.";

/// Why a revoked key can't be renamed or re-dated.
pub const REVOKED_IS_FINAL: &str = "Revoked keys can't be changed — create a new key instead.";

/// Why an active key can't be deleted.
pub const REVOKE_BEFORE_DELETE: &str =
    "Only revoked or expired keys can be deleted — revoke it first.";

/// Whether a key is past its expiry at `now`.
pub fn is_expired(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires_at.is_some_and(|e| e <= now)
}

/// Whether a key may be deleted: revoked or expired (its audit events stay).
pub fn is_deletable(
    revoked_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    revoked_at.is_some() || is_expired(expires_at, now)
}

/// Whether a usable key's expiry is within `EXPIRES_SOON` — unless the key is itself less than
/// a day old (it was just made that way).
pub fn expires_soon(key: KeyDates, now: DateTime<Utc>) -> bool {
    key.expires_at
        .is_some_and(|e| e > now && e - now <= EXPIRES_SOON && now - key.created_at >= NEW_KEY)
}

/// Whether the last use lies within `RECENT_USE` of `now`.
pub fn used_recently(last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_used_at.is_some_and(|t| now - t <= RECENT_USE)
}

impl KeyStatus {
    /// Decides the status from the key's dates and whether the account's keys are paused.
    pub fn of(key: KeyDates, account_paused: bool, now: DateTime<Utc>) -> Self {
        if key.revoked_at.is_some() {
            KeyStatus::Revoked
        } else if is_expired(key.expires_at, now) {
            KeyStatus::Expired
        } else if key.rolled_at.is_some() {
            KeyStatus::Rolling
        } else if account_paused {
            KeyStatus::Paused
        } else if expires_soon(key, now) {
            KeyStatus::ExpiresSoon
        } else {
            KeyStatus::Active
        }
    }

    /// The word shown to people.
    pub fn label(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::ExpiresSoon => "Expires soon",
            KeyStatus::Expired => "Expired",
            KeyStatus::Rolling => "Rolling",
            KeyStatus::Revoked => "Revoked",
            KeyStatus::Paused => "Paused",
        }
    }

    /// CSS modifier.
    pub fn css(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::ExpiresSoon => "soon",
            KeyStatus::Expired => "expired",
            KeyStatus::Rolling => "rolling",
            KeyStatus::Revoked => "revoked",
            KeyStatus::Paused => "paused",
        }
    }

    /// Counts toward the 10-key limit (not revoked, expired or rolling; paused keys count).
    pub fn counts_as_active(self) -> bool {
        matches!(
            self,
            KeyStatus::Active | KeyStatus::ExpiresSoon | KeyStatus::Paused
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(
        revoked_at: Option<DateTime<Utc>>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> KeyDates {
        KeyDates {
            created_at: now - Duration::days(20),
            expires_at,
            revoked_at,
            rolled_at: None,
        }
    }

    #[test]
    fn status_precedence_is_revoked_expired_rolling_paused_active() {
        let now = Utc::now();
        let past = Some(now - Duration::seconds(1));
        let far = Some(now + Duration::days(30));
        let soon = Some(now + Duration::days(2));
        let of = |r, e, paused| KeyStatus::of(dates(r, e, now), paused, now);
        assert_eq!(of(past, past, true), KeyStatus::Revoked);
        assert_eq!(of(None, past, true), KeyStatus::Expired);
        assert_eq!(of(None, far, true), KeyStatus::Paused);
        assert_eq!(of(None, far, false), KeyStatus::Active);
        assert_eq!(of(None, None, false), KeyStatus::Active);
        assert_eq!(of(None, soon, false), KeyStatus::ExpiresSoon);
        // a key is rejected from the very second of its expiry
        assert_eq!(of(None, Some(now), false), KeyStatus::Expired);
        let rolling = KeyDates {
            rolled_at: Some(now),
            ..dates(None, soon, now)
        };
        assert_eq!(KeyStatus::of(rolling, true, now), KeyStatus::Rolling);
        assert!(!KeyStatus::Rolling.counts_as_active());
        let rolled_past_grace = KeyDates {
            rolled_at: Some(now),
            ..dates(None, past, now)
        };
        assert_eq!(
            KeyStatus::of(rolled_past_grace, false, now),
            KeyStatus::Expired
        );
    }

    #[test]
    fn a_seven_day_key_is_not_expiring_soon_on_its_first_day() {
        let now = Utc::now();
        let fresh = KeyDates {
            created_at: now - Duration::hours(2),
            expires_at: Some(now + Duration::days(7) - Duration::hours(2)),
            revoked_at: None,
            rolled_at: None,
        };
        assert_eq!(KeyStatus::of(fresh, false, now), KeyStatus::Active);
        let day_two = now + Duration::days(1);
        assert_eq!(KeyStatus::of(fresh, false, day_two), KeyStatus::ExpiresSoon);
    }

    #[test]
    fn every_status_has_a_label_and_a_class() {
        for s in [
            KeyStatus::Active,
            KeyStatus::ExpiresSoon,
            KeyStatus::Expired,
            KeyStatus::Rolling,
            KeyStatus::Revoked,
            KeyStatus::Paused,
        ] {
            assert!(!s.label().is_empty());
            assert!(!s.css().is_empty());
        }
        assert!(!KeyStatus::Revoked.counts_as_active());
        assert!(!KeyStatus::Expired.counts_as_active());
        assert!(KeyStatus::Paused.counts_as_active());
    }
}
