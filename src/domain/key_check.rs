//! The one decision about a presented key whose hash matched: may it be used now? Every
//! verification (`/api/v1/me`, introspection, and the round-3 spend check) goes through
//! `decide`, so a new bound (pause, network binding, rate limit, caps) is added here once and
//! every endpoint enforces it. The facts come from the single verification query
//! (`db::api_keys::verify`); what to answer is each endpoint's business (`api::check`).

use super::AuthFailure;

/// What the verification query read about a key, on the database's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFacts {
    /// Revoked (by anyone, for any reason).
    pub revoked: bool,
    /// Past its expiry (or its grace period, for a rolling key).
    pub expired: bool,
    /// The account's flag is on and it has a self-custodied wallet.
    pub account_eligible: bool,
}

/// Accepted, or the first refusal in precedence order: revoked, expired, account not eligible.
/// A revoked key says so even when it has expired since: what its holder needs to know is that
/// it will never work again.
pub fn decide(key: &KeyFacts) -> Result<(), AuthFailure> {
    if key.revoked {
        Err(AuthFailure::Revoked)
    } else if key.expired {
        Err(AuthFailure::Expired)
    } else if !key.account_eligible {
        Err(AuthFailure::AccountNotEligible)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: KeyFacts = KeyFacts {
        revoked: false,
        expired: false,
        account_eligible: true,
    };

    #[test]
    fn each_fact_refuses_and_the_precedence_is_revoked_expired_eligibility() {
        assert_eq!(decide(&OK), Ok(()));
        let all_bad = KeyFacts {
            revoked: true,
            expired: true,
            account_eligible: false,
        };
        assert_eq!(decide(&all_bad), Err(AuthFailure::Revoked));
        let expired_and_ineligible = KeyFacts {
            revoked: false,
            ..all_bad
        };
        assert_eq!(decide(&expired_and_ineligible), Err(AuthFailure::Expired));
        let ineligible = KeyFacts {
            account_eligible: false,
            ..OK
        };
        assert_eq!(decide(&ineligible), Err(AuthFailure::AccountNotEligible));
    }
}
