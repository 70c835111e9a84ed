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
        }
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
