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
    /// It moves money (`Scope::moves_money`) and works from any address: no network binding
    /// (and, until spend caps exist, nothing else bounds it).
    MovesMoneyFromAnywhere,
}

impl Finding {
    /// Every finding, in the order the summary lists them.
    pub const ALL: [Finding; 4] = [
        Finding::MovesMoneyFromAnywhere,
        Finding::ExpiringSoon,
        Finding::NeverExpires,
        Finding::Unused,
    ];
}

/// The findings for one key: only usable (active or paused) keys are judged; revoked, expired
/// and rolling keys are on their way out. `money_unbounded`: it may move money and nothing
/// bounds where from.
pub fn findings(
    key: KeyDates,
    last_used_at: Option<DateTime<Utc>>,
    money_unbounded: bool,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    if !KeyStatus::of(key, false, now).counts_as_active() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if money_unbounded {
        out.push(Finding::MovesMoneyFromAnywhere);
    }
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
        assert!(findings(key(10, Some(60), now), recent, false, now).is_empty());
        assert_eq!(
            findings(key(10, None, now), recent, false, now),
            vec![Finding::NeverExpires]
        );
        assert_eq!(
            findings(
                key(40, Some(60), now),
                Some(now - Duration::days(31)),
                false,
                now
            ),
            vec![Finding::Unused]
        );
        assert_eq!(
            findings(key(8, Some(60), now), None, false, now),
            vec![Finding::Unused]
        );
        assert!(findings(key(6, Some(60), now), None, false, now).is_empty());
        assert_eq!(
            findings(key(20, Some(3), now), recent, false, now),
            vec![Finding::ExpiringSoon]
        );
    }

    #[test]
    fn a_money_moving_key_without_bounds_is_named_first() {
        let now = Utc::now();
        let recent = Some(now - Duration::hours(1));
        assert_eq!(
            findings(key(10, None, now), recent, true, now),
            vec![Finding::MovesMoneyFromAnywhere, Finding::NeverExpires]
        );
        assert_eq!(Finding::ALL[0], Finding::MovesMoneyFromAnywhere);
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
        assert!(findings(revoked, None, false, now).is_empty());
        assert!(findings(rolling, None, false, now).is_empty());
        assert!(findings(key(40, Some(-1), now), None, false, now).is_empty());
    }
}
