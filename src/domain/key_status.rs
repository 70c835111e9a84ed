//! What state a key is in, as the list and the API see it.

use chrono::{DateTime, Duration, Utc};

/// A key's status. Precedence: Revoked, then Expired, then Paused, else Active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Usable.
    Active,
    /// Usable, but expires within 7 days.
    ExpiresSoon,
    /// Past its expiry.
    Expired,
    /// Revoked (permanent).
    Revoked,
    /// The account is not eligible right now; resumes when it is.
    Paused,
}

/// How close an expiry counts as "soon".
pub const EXPIRES_SOON: Duration = Duration::days(7);

/// How recent a use makes the revoke dialog warn that the key is in use.
pub const RECENT_USE: Duration = Duration::days(7);

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

/// Whether the last use lies within `RECENT_USE` of `now`.
pub fn used_recently(last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_used_at.is_some_and(|t| now - t <= RECENT_USE)
}

impl KeyStatus {
    /// Decides the status from the key's dates and whether the account's keys are paused.
    pub fn of(
        revoked_at: Option<DateTime<Utc>>,
        expires_at: Option<DateTime<Utc>>,
        account_paused: bool,
        now: DateTime<Utc>,
    ) -> Self {
        if revoked_at.is_some() {
            KeyStatus::Revoked
        } else if is_expired(expires_at, now) {
            KeyStatus::Expired
        } else if account_paused {
            KeyStatus::Paused
        } else if expires_at.is_some_and(|e| e - now <= EXPIRES_SOON) {
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
            KeyStatus::Revoked => "revoked",
            KeyStatus::Paused => "paused",
        }
    }

    /// Counts toward the 10-key limit (not revoked, not expired; paused keys count).
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

    #[test]
    fn status_precedence_is_revoked_expired_paused_active() {
        let now = Utc::now();
        let past = Some(now - Duration::seconds(1));
        let far = Some(now + Duration::days(30));
        let soon = Some(now + Duration::days(2));
        assert_eq!(KeyStatus::of(past, past, true, now), KeyStatus::Revoked);
        assert_eq!(KeyStatus::of(None, past, true, now), KeyStatus::Expired);
        assert_eq!(KeyStatus::of(None, far, true, now), KeyStatus::Paused);
        assert_eq!(KeyStatus::of(None, far, false, now), KeyStatus::Active);
        assert_eq!(KeyStatus::of(None, None, false, now), KeyStatus::Active);
        assert_eq!(
            KeyStatus::of(None, soon, false, now),
            KeyStatus::ExpiresSoon
        );
        // a key is rejected from the very second of its expiry
        assert_eq!(
            KeyStatus::of(None, Some(now), false, now),
            KeyStatus::Expired
        );
    }

    #[test]
    fn every_status_has_a_label_and_a_class() {
        for s in [
            KeyStatus::Active,
            KeyStatus::ExpiresSoon,
            KeyStatus::Expired,
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
