//! Why a presented key was refused: the `error_code` of a 401, and a usage outcome.

/// A refusal.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// Not `Bearer phy_…` with a valid checksum, or several headers.
    Malformed,
    /// Well-formed but not a key we issued (or deleted).
    Unknown,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
    /// The account is not eligible right now (keys paused).
    AccountNotEligible,
}

impl AuthFailure {
    /// Every refusal.
    pub const ALL: [AuthFailure; 6] = [
        AuthFailure::Missing,
        AuthFailure::Malformed,
        AuthFailure::Unknown,
        AuthFailure::Revoked,
        AuthFailure::Expired,
        AuthFailure::AccountNotEligible,
    ];

    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::Unknown => "unknown",
            AuthFailure::Revoked => "revoked",
            AuthFailure::Expired => "expired",
            AuthFailure::AccountNotEligible => "account_not_eligible",
        }
    }

    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<AuthFailure> {
        AuthFailure::ALL.into_iter().find(|f| f.as_str() == s)
    }

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
