//! A stopped key's receipt (SPEC §15): when and why it stopped working, read from its row
//! (every time in it is the database's: `revoked_at` and `rolled_at` are set by `now()` in the
//! transaction that made the change, `expires_at` is compared with the same clock), and how
//! its refusals since then are counted.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::exposure::RevokeReason;
use super::usage::Outcome;

/// Why a key stopped working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    /// Its owner revoked it.
    Owner,
    /// Its owner stopped it while it was rolling, before the grace period ended.
    OwnerEndedGrace,
    /// It was rolled with no grace period: the old secret stopped in the roll.
    RolledNow,
    /// keydesk revoked it: found exposed (GitHub's secret scanning or an operator).
    Exposed,
    /// Someone holding the secret revoked it (`POST /api/v1/keys/revoke`).
    Reported,
    /// Revoked by another account (no such path today; said plainly if it ever happens).
    Someone,
    /// Revoked without a person or a reason recorded (an operator).
    Operator,
    /// It reached its expiry date.
    Expired,
    /// It was rolled and its grace period ended.
    GraceEnded,
}

impl StopCause {
    /// Who stopped it, in a few words ("by you", "by an exposure report").
    pub fn by(self) -> &'static str {
        match self {
            StopCause::Owner => "Revoked by you",
            StopCause::OwnerEndedGrace => "Stopped by you before its roll's grace period ended",
            StopCause::RolledNow => "Stopped by a roll (the old secret stopped at once)",
            StopCause::Exposed => "Revoked by an exposure report (found in public)",
            StopCause::Reported => "Revoked by someone holding the secret (revoke-by-secret)",
            StopCause::Someone => "Revoked by another account",
            StopCause::Operator => "Revoked by an operator",
            StopCause::Expired => "Expired (it reached its expiry date)",
            StopCause::GraceEnded => "Expired at the end of its roll's grace period",
        }
    }

    /// The outcome the key's requests get once it stopped this way: every request after
    /// a revocation is refused as `revoked`, after an expiry as `expired` (revocation is
    /// decided first, `domain::key_check`), so these counts are exactly the refusals since.
    pub fn refusal(self) -> Outcome {
        match self {
            StopCause::Expired | StopCause::GraceEnded => Outcome::Expired,
            _ => Outcome::Revoked,
        }
    }
}

/// The row facts a receipt is read from.
#[derive(Debug, Clone, Copy)]
pub struct StopFacts {
    /// The owning account.
    pub account: Uuid,
    /// Revoked when.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Revoked by whom (None: nobody recorded).
    pub revoked_by: Option<Uuid>,
    /// Why, when its owner didn't revoke it.
    pub revoked_reason: Option<RevokeReason>,
    /// Rolled when.
    pub rolled_at: Option<DateTime<Utc>>,
    /// Its expiry (for a rolling key: the end of the grace period).
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stop: when, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    /// When it stopped.
    pub at: DateTime<Utc>,
    /// Why.
    pub cause: StopCause,
}

/// Every way the key has stopped, oldest first: an expiry (when `expires_at` is past `now`
/// and came before any revocation) and a revocation. Empty while it still works. The first
/// is when it stopped; a later one is shown too (an expired key revoked when found exposed).
pub fn stops(f: &StopFacts, now: DateTime<Utc>) -> Vec<Stop> {
    let mut out = Vec::with_capacity(2);
    if let Some(exp) = f.expires_at
        && exp <= now
        && f.revoked_at.is_none_or(|r| exp < r)
    {
        let cause = if f.rolled_at.is_some() {
            StopCause::GraceEnded
        } else {
            StopCause::Expired
        };
        out.push(Stop { at: exp, cause });
    }
    if let Some(at) = f.revoked_at {
        let cause = match (f.revoked_reason, f.revoked_by) {
            (Some(RevokeReason::Exposed), _) => StopCause::Exposed,
            (Some(RevokeReason::Reported), _) => StopCause::Reported,
            (None, None) => StopCause::Operator,
            (None, Some(by)) if by != f.account => StopCause::Someone,
            // a roll with no grace revokes the old key in the roll's own transaction
            (None, Some(_)) => match f.rolled_at {
                Some(rolled) if rolled == at => StopCause::RolledNow,
                Some(_) => StopCause::OwnerEndedGrace,
                None => StopCause::Owner,
            },
        };
        out.push(Stop { at, cause });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn facts(now: DateTime<Utc>) -> StopFacts {
        StopFacts {
            account: Uuid::from_u128(1),
            revoked_at: None,
            revoked_by: None,
            revoked_reason: None,
            rolled_at: None,
            expires_at: Some(now + Duration::days(3)),
        }
    }

    fn causes(f: &StopFacts, now: DateTime<Utc>) -> Vec<StopCause> {
        stops(f, now).into_iter().map(|s| s.cause).collect()
    }

    #[test]
    fn a_working_key_has_no_stop() {
        let now = Utc::now();
        assert!(stops(&facts(now), now).is_empty());
        let never = StopFacts {
            expires_at: None,
            ..facts(now)
        };
        assert!(stops(&never, now).is_empty());
    }

    #[test]
    fn each_way_of_stopping_is_named() {
        let now = Utc::now();
        let t = now - Duration::hours(2);
        let owner = Some(Uuid::from_u128(1));
        let revoked = |by, reason, rolled_at| StopFacts {
            revoked_at: Some(t),
            revoked_by: by,
            revoked_reason: reason,
            rolled_at,
            ..facts(now)
        };
        assert_eq!(causes(&revoked(owner, None, None), now), [StopCause::Owner]);
        assert_eq!(
            causes(&revoked(owner, None, Some(t)), now),
            [StopCause::RolledNow]
        );
        assert_eq!(
            causes(&revoked(owner, None, Some(t - Duration::minutes(5))), now),
            [StopCause::OwnerEndedGrace]
        );
        let exposed = revoked(None, Some(RevokeReason::Exposed), None);
        assert_eq!(causes(&exposed, now), [StopCause::Exposed]);
        let reported = revoked(None, Some(RevokeReason::Reported), None);
        assert_eq!(causes(&reported, now), [StopCause::Reported]);
        assert_eq!(
            causes(&revoked(None, None, None), now),
            [StopCause::Operator]
        );
        let other = Some(Uuid::from_u128(2));
        assert_eq!(
            causes(&revoked(other, None, None), now),
            [StopCause::Someone]
        );
        let expired = StopFacts {
            expires_at: Some(t),
            ..facts(now)
        };
        assert_eq!(
            stops(&expired, now),
            [Stop {
                at: t,
                cause: StopCause::Expired
            }]
        );
        let grace = StopFacts {
            rolled_at: Some(t - Duration::hours(1)),
            ..expired
        };
        assert_eq!(causes(&grace, now), [StopCause::GraceEnded]);
        assert_eq!(StopCause::GraceEnded.refusal(), Outcome::Expired);
        assert_eq!(StopCause::Exposed.refusal(), Outcome::Revoked);
    }

    #[test]
    fn an_expired_key_revoked_later_stopped_when_it_expired() {
        let now = Utc::now();
        let expired_at = now - Duration::days(2);
        let f = StopFacts {
            expires_at: Some(expired_at),
            revoked_at: Some(now - Duration::hours(1)),
            revoked_reason: Some(RevokeReason::Exposed),
            ..facts(now)
        };
        let s = stops(&f, now);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].at, s[0].cause), (expired_at, StopCause::Expired));
        assert_eq!(s[1].cause, StopCause::Exposed);
        // revoked first: the later expiry date never mattered
        let f = StopFacts {
            expires_at: Some(now - Duration::minutes(1)),
            revoked_at: Some(now - Duration::hours(1)),
            revoked_by: Some(f.account),
            ..facts(now)
        };
        assert_eq!(causes(&f, now), [StopCause::Owner]);
    }
}
