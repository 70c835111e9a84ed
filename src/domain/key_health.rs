//! Key health: which of an account's usable keys need attention, and why. The keys page shows
//! a short summary from this, each finding with its next step; nothing when all is well.

use chrono::{DateTime, Duration, Utc};

use super::key_status::{KeyDates, KeyStatus, expires_soon};

/// A key unused this long is named as unused.
pub const UNUSED_FOR: Duration = Duration::days(30);

/// A never-used key older than this is named as unused.
pub const NEVER_USED_AFTER: Duration = Duration::days(7);

/// What a key needs attention for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// It never expires (recommendation: give it an expiry).
    NeverExpires,
    /// Not used for 30 days, or never used and older than 7 days (revoke it if it is not needed).
    Unused,
    /// It expires within 7 days (roll it or re-date it).
    ExpiringSoon,
}

impl Finding {
    /// Every finding, in the order the summary lists them.
    pub const ALL: [Finding; 3] = [
        Finding::ExpiringSoon,
        Finding::NeverExpires,
        Finding::Unused,
    ];
}

/// The findings for one key: only usable (active or paused) keys are judged; revoked, expired
/// and rolling keys are on their way out.
pub fn findings(
    key: KeyDates,
    last_used_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    if !KeyStatus::of(key, false, now).counts_as_active() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if expires_soon(key, now) {
        out.push(Finding::ExpiringSoon);
    }
    if key.expires_at.is_none() {
        out.push(Finding::NeverExpires);
    }
    let unused = match last_used_at {
        Some(t) => now - t >= UNUSED_FOR,
        None => now - key.created_at >= NEVER_USED_AFTER,
    };
    if unused {
        out.push(Finding::Unused);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(age_days: i64, expires_in_days: Option<i64>, now: DateTime<Utc>) -> KeyDates {
        KeyDates {
            created_at: now - Duration::days(age_days),
            expires_at: expires_in_days.map(|d| now + Duration::days(d)),
            revoked_at: None,
            rolled_at: None,
        }
    }

    #[test]
    fn each_condition_is_found_and_a_healthy_key_has_none() {
        let now = Utc::now();
        let recent = Some(now - Duration::hours(1));
        assert!(findings(key(10, Some(60), now), recent, now).is_empty());
        assert_eq!(
            findings(key(10, None, now), recent, now),
            vec![Finding::NeverExpires]
        );
        assert_eq!(
            findings(key(40, Some(60), now), Some(now - Duration::days(31)), now),
            vec![Finding::Unused]
        );
        assert_eq!(
            findings(key(8, Some(60), now), None, now),
            vec![Finding::Unused]
        );
        assert!(findings(key(6, Some(60), now), None, now).is_empty());
        assert_eq!(
            findings(key(20, Some(3), now), recent, now),
            vec![Finding::ExpiringSoon]
        );
    }

    #[test]
    fn keys_on_their_way_out_are_not_judged() {
        let now = Utc::now();
        let revoked = KeyDates {
            revoked_at: Some(now),
            ..key(40, None, now)
        };
        let rolling = KeyDates {
            rolled_at: Some(now),
            ..key(40, Some(1), now)
        };
        assert!(findings(revoked, None, now).is_empty());
        assert!(findings(rolling, None, now).is_empty());
        assert!(findings(key(40, Some(-1), now), None, now).is_empty());
    }
}
