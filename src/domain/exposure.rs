//! Exposed keys: why a key was revoked without its owner (found in public code, or reported
//! by someone holding it), what GitHub's secret-scanning partner protocol calls our keys, and
//! the feedback it gets for each reported token.

use sha2::{Digest, Sha256};

/// The token type registered with GitHub's secret-scanning partner program (its `type` field
/// and our feedback's `token_type`).
pub const GITHUB_TOKEN_TYPE: &str = "phygitals_api_key";

/// The pattern registered with GitHub: `phy_` and 38 base62 characters (32 random + 6 of
/// checksum), on word boundaries.
pub const TOKEN_PATTERN: &str = r"\bphy_[0-9A-Za-z]{38}\b";

/// Longest reported URL kept (longer ones are cut, never refused: the key is revoked anyway).
pub const MAX_URL_CHARS: usize = 2048;

/// Longest reported source kept.
pub const MAX_SOURCE_CHARS: usize = 64;

text_enum! {
    /// Why a key was revoked by someone other than its owner.
    pub enum RevokeReason {
        /// Found in public code: GitHub's secret scanning, or an operator's report.
        Exposed = "exposed",
        /// Someone holding the secret revoked it through the public revoke endpoint.
        Reported = "reported",
    }
}

impl RevokeReason {
    /// The status word people read for a key revoked for this reason.
    pub fn status_label(self) -> &'static str {
        match self {
            RevokeReason::Exposed => "Revoked — found exposed",
            RevokeReason::Reported => "Revoked — reported as leaked",
        }
    }
}

/// GitHub's verdict for one reported token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// One of our keys (revoked now, or already revoked).
    TruePositive,
    /// Not a key, or not one of ours.
    FalsePositive,
}

impl Label {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::TruePositive => "true_positive",
            Label::FalsePositive => "false_positive",
        }
    }
}

/// SHA-256 hex of the raw token, as GitHub's feedback wants it (it never gets the token back).
pub fn token_hash(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// A reported text cut to `max` characters and stripped of control characters, so what is
/// stored and shown stays bounded and on one line.
pub fn clip(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip_and_read_as_words() {
        for r in RevokeReason::ALL {
            assert_eq!(RevokeReason::parse(r.as_str()), Some(r));
            assert!(r.status_label().starts_with("Revoked — "));
        }
        assert_eq!(RevokeReason::parse("owner"), None);
        assert_eq!(Label::TruePositive.as_str(), "true_positive");
        assert_eq!(Label::FalsePositive.as_str(), "false_positive");
    }

    #[test]
    fn the_token_hash_is_sha256_hex_of_the_raw_token() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn clipping_bounds_length_and_drops_control_characters() {
        assert_eq!(clip("a\nb\u{7}c", 10), "abc");
        assert_eq!(clip(&"x".repeat(5000), MAX_URL_CHARS).len(), MAX_URL_CHARS);
    }
}
