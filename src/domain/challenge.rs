//! Linking a wallet by signature: the one-time challenge, its text, and the rules a signed
//! challenge must pass (unused, unexpired, for the address being linked).

use chrono::{DateTime, Duration, Utc};

use super::wallet::WalletAddress;

/// How long a challenge may be signed.
pub const CHALLENGE_TTL: Duration = Duration::minutes(10);

/// The text a wallet signs to link itself, in the spirit of Sign-In With Solana: who asks,
/// which address, what for, a nonce and a validity window.
pub fn challenge_message(
    scheme: &str,
    domain: &str,
    address: &WalletAddress,
    account_email: &str,
    nonce: &str,
    issued_at: chrono::DateTime<chrono::Utc>,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> String {
    format!(
        "{domain} wants you to link your Solana account:\n{address}\n\n\
         Link this wallet to the Phygitals account {account_email} so it can use API keys. \
         Signing proves you hold this wallet's key; it sends no transaction and costs nothing.\n\n\
         URI: {scheme}://{domain}/settings/wallets\nVersion: 1\nNonce: {nonce}\n\
         Issued At: {}\nExpiration Time: {}",
        issued_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        address = address.as_str(),
    )
}

/// What the rules need to know about a stored challenge.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The address being linked.
    pub address: String,
    /// Until when it may be signed.
    pub expires_at: DateTime<Utc>,
    /// When a signature used it, if one did.
    pub used_at: Option<DateTime<Utc>>,
}

/// Why a signed challenge is refused (before its signature is even checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeRefusal {
    /// A signature used it already.
    Reused,
    /// Its time ran out.
    Expired,
    /// The form names another address than the challenge.
    DifferentAddress,
}

impl ChallengeRefusal {
    /// The code kept in the audit trail.
    pub fn code(self) -> &'static str {
        match self {
            ChallengeRefusal::Reused => "reused_challenge",
            ChallengeRefusal::Expired => "expired_challenge",
            ChallengeRefusal::DifferentAddress => "different_address",
        }
    }

    /// What the person reads, with the next step.
    pub fn message(self) -> String {
        match self {
            ChallengeRefusal::Reused => {
                "This linking request was already used. Start again with your wallet address."
                    .into()
            }
            ChallengeRefusal::Expired => format!(
                "This linking request expired (they last {} minutes). Start again with your wallet address.",
                CHALLENGE_TTL.num_minutes()
            ),
            ChallengeRefusal::DifferentAddress => "The signature must come from the wallet you started linking. Start again to link a different address.".into(),
        }
    }

    /// Whether the same challenge can still be signed (only a wrong address leaves it usable).
    pub fn challenge_still_usable(self) -> bool {
        self == ChallengeRefusal::DifferentAddress
    }
}

impl Challenge {
    /// Checks a signed form against the challenge at `now` (the database's clock).
    pub fn check(&self, now: DateTime<Utc>, address: &str) -> Result<(), ChallengeRefusal> {
        if self.used_at.is_some() {
            Err(ChallengeRefusal::Reused)
        } else if self.expires_at <= now {
            Err(ChallengeRefusal::Expired)
        } else if address.trim() != self.address {
            Err(ChallengeRefusal::DifferentAddress)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_is_refused_when_used_expired_or_for_another_address() {
        let now = Utc::now();
        let c = Challenge {
            address: "A".into(),
            expires_at: now + CHALLENGE_TTL,
            used_at: None,
        };
        assert_eq!(c.check(now, " A "), Ok(()));
        assert_eq!(c.check(now, "B"), Err(ChallengeRefusal::DifferentAddress));
        assert_eq!(
            c.check(now + CHALLENGE_TTL, "A"),
            Err(ChallengeRefusal::Expired)
        );
        let used = Challenge {
            used_at: Some(now),
            ..c
        };
        assert_eq!(used.check(now, "A"), Err(ChallengeRefusal::Reused));
        assert!(ChallengeRefusal::Expired.message().contains("10 minutes"));
    }
}
