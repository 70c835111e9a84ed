//! The one decision about a presented key whose hash matched: may it be used now? Every
//! verification (`/api/v1/me`, introspection, and the round-3 spend check) goes through
//! `decide`, so a new bound (pause, network binding, rate limit, caps) is added here once and
//! every endpoint enforces it. The facts come from the single verification query
//! (`db::api_keys::verify`); what to answer is each endpoint's business (`api::check`).

use std::net::IpAddr;

use super::AuthFailure;
use super::network::{Binding, NetworkMode, Placement};

/// What the verification query read about a key, on the database's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFacts {
    /// Revoked (by anyone, for any reason).
    pub revoked: bool,
    /// Past its expiry (or its grace period, for a rolling key).
    pub expired: bool,
    /// The account's flag is on and it has a self-custodied wallet.
    pub account_eligible: bool,
    /// Paused by its owner.
    pub paused: bool,
}

/// Accepted (with where the client falls: a dry-run counts `Outside` as "would have been
/// refused"), or the first refusal in precedence order: revoked, expired, paused by its owner,
/// account not eligible, then the network binding (`client_ip_required` when it is enforced
/// and no address was given). A revoked key says so even when it has expired since: what its
/// holder needs to know is that it will never work again.
pub fn decide(
    key: &KeyFacts,
    binding: &Binding,
    ip: Option<IpAddr>,
) -> Result<Placement, AuthFailure> {
    if key.revoked {
        return Err(AuthFailure::Revoked);
    }
    if key.expired {
        return Err(AuthFailure::Expired);
    }
    if key.paused {
        return Err(AuthFailure::Paused);
    }
    if !key.account_eligible {
        return Err(AuthFailure::AccountNotEligible);
    }
    let placement = binding.place(ip);
    match (binding.mode, placement) {
        (NetworkMode::Enforce, Placement::Outside) => Err(AuthFailure::IpNotAllowed),
        (NetworkMode::Enforce, Placement::Unknown) => Err(AuthFailure::ClientIpRequired),
        _ => Ok(placement),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::network::Networks;

    const OK: KeyFacts = KeyFacts {
        revoked: false,
        expired: false,
        account_eligible: true,
        paused: false,
    };

    fn bound(mode: NetworkMode) -> Binding {
        Binding::new(mode, Networks::parse("203.0.113.0/24").unwrap()).unwrap()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn each_fact_refuses_in_precedence_order() {
        let free = Binding::default();
        assert_eq!(decide(&OK, &free, None), Ok(Placement::Unbound));
        let all_bad = KeyFacts {
            revoked: true,
            expired: true,
            account_eligible: false,
            paused: true,
        };
        let enforced = bound(NetworkMode::Enforce);
        let outside = ip("198.51.100.1");
        let mut facts = all_bad;
        for expected in [
            AuthFailure::Revoked,
            AuthFailure::Expired,
            AuthFailure::Paused,
            AuthFailure::AccountNotEligible,
            AuthFailure::IpNotAllowed,
        ] {
            assert_eq!(decide(&facts, &enforced, outside), Err(expected));
            match expected {
                AuthFailure::Revoked => facts.revoked = false,
                AuthFailure::Expired => facts.expired = false,
                AuthFailure::Paused => facts.paused = false,
                _ => facts.account_eligible = true,
            }
        }
    }

    #[test]
    fn the_binding_refuses_outside_when_enforced_and_only_counts_in_dry_run() {
        let enforced = bound(NetworkMode::Enforce);
        assert_eq!(
            decide(&OK, &enforced, ip("203.0.113.5")),
            Ok(Placement::Inside("203.0.113.0/24".parse().unwrap()))
        );
        assert_eq!(
            decide(&OK, &enforced, ip("198.51.100.1")),
            Err(AuthFailure::IpNotAllowed)
        );
        assert_eq!(
            decide(&OK, &enforced, None),
            Err(AuthFailure::ClientIpRequired)
        );
        let dry = bound(NetworkMode::DryRun);
        assert_eq!(
            decide(&OK, &dry, ip("198.51.100.1")),
            Ok(Placement::Outside)
        );
        assert_eq!(decide(&OK, &dry, None), Ok(Placement::Unknown));
    }
}
