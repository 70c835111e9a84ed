//! Why a presented key was refused: the `error_code` of a 401, and a usage outcome.

text_enum! {
    /// A refusal.
    #[derive(Hash)]
    pub enum AuthFailure {
        /// No `Authorization` header.
        Missing = "missing",
        /// Not `Bearer phy_…` with a valid checksum, or several headers.
        Malformed = "malformed",
        /// Well-formed but not a key we issued (or deleted).
        Unknown = "unknown",
        /// Revoked.
        Revoked = "revoked",
        /// Past its expiry.
        Expired = "expired",
        /// The account is not eligible right now (keys paused).
        AccountNotEligible = "account_not_eligible",
        /// Paused by its owner.
        Paused = "paused",
        /// Used from an address outside the key's enforced allow list.
        IpNotAllowed = "ip_not_allowed",
        /// The key is bound to networks, and introspection named no `client_ip`.
        ClientIpRequired = "client_ip_required",
        /// The key used up its rate limit for the current window.
        RateLimited = "rate_limited",
    }
}

impl AuthFailure {
    /// The RFC 6750 `error_description`.
    pub fn description(self) -> &'static str {
        match self {
            AuthFailure::Missing => "Send the key as Authorization: Bearer phy_…",
            AuthFailure::Malformed => "The key is not a well-formed phy_ key",
            AuthFailure::Unknown => "The key is not valid",
            AuthFailure::Revoked => "The key was revoked",
            AuthFailure::Expired => "The key has expired",
            AuthFailure::AccountNotEligible => "The account's API keys are paused",
            AuthFailure::Paused => "The key is paused by its owner",
            AuthFailure::IpNotAllowed => "The key may not be used from this address",
            AuthFailure::ClientIpRequired => {
                "The key is bound to networks: send the client_ip of your caller"
            }
            AuthFailure::RateLimited => "The key used up its rate limit: retry after Retry-After",
        }
    }

    /// Refused for where the request came from, not for the key itself: `/api/v1/me`
    /// answers 403 (the key is valid, the place is not), the others 401.
    pub fn is_forbidden(self) -> bool {
        matches!(
            self,
            AuthFailure::IpNotAllowed | AuthFailure::ClientIpRequired
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for f in AuthFailure::ALL {
            assert_eq!(AuthFailure::parse(f.as_str()), Some(f));
            assert!(!f.description().is_empty());
        }
        assert_eq!(AuthFailure::parse("ok"), None);
    }
}
