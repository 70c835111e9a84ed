//! Solana wallets linked to an account.

text_enum! {
    /// Who holds a wallet's private key.
    pub enum WalletKind {
        /// Self-custodied; ownership proven by signing a challenge. The only kind that qualifies.
        External = "external",
        /// Created and held by the platform inside the app.
        Embedded = "embedded",
        /// Held by the platform on the user's behalf.
        Custodial = "custodial",
    }
}

impl WalletKind {
    /// Label shown to people.
    pub fn label(self) -> &'static str {
        match self {
            WalletKind::External => "External",
            WalletKind::Embedded => "Embedded",
            WalletKind::Custodial => "Custodial",
        }
    }
    /// Whether the platform holds the key (embedded or custodial).
    pub fn is_platform_held(self) -> bool {
        self != WalletKind::External
    }
}

/// `7xKX…9fQ2`: the first and last four characters of an address.
pub fn short_address(address: &str) -> String {
    let chars: Vec<char> = address.chars().collect();
    if chars.len() <= 10 {
        return address.to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn kinds_round_trip_and_only_external_qualifies() {
        for k in WalletKind::ALL {
            assert_eq!(WalletKind::parse(k.as_str()), Some(k));
            assert_eq!(k.is_platform_held(), k != WalletKind::External);
        }
        assert_eq!(WalletKind::parse("hardware"), None);
    }
    #[test]
    fn addresses_are_shortened_to_head_and_tail() {
        assert_eq!(
            short_address("7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"),
            "7xKX…gAsU"
        );
        assert_eq!(short_address("short"), "short");
    }
}

/// A Solana address: base58 of a 32-byte ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletAddress {
    text: String,
    key: [u8; 32],
}

/// Why a link attempt's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Not base58, or not 64 bytes.
    #[error(
        "The signature isn't a base58 ed25519 signature (88 characters or so). Paste it exactly as your wallet printed it."
    )]
    Malformed,
    /// Well-formed but not made by this address's key over this message.
    #[error(
        "That signature doesn't match this wallet and message. Sign the exact message shown, with the wallet you entered."
    )]
    Wrong,
}

impl WalletAddress {
    /// Parses a base58 address of exactly 32 bytes that is a valid ed25519 point.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let text = raw.trim();
        let bytes = bs58::decode(text)
            .into_vec()
            .map_err(|_| "That isn't a Solana address: use the base58 address your wallet shows")?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "That isn't a Solana address: it should decode to 32 bytes")?;
        ed25519_dalek::VerifyingKey::from_bytes(&key)
            .map_err(|_| "That address isn't an ed25519 public key, so it can't sign messages")?;
        Ok(Self {
            text: text.to_owned(),
            key,
        })
    }

    /// The base58 text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Checks a base58 signature of `message` by this address's key (strict verification).
    pub fn verify(&self, message: &[u8], signature_b58: &str) -> Result<(), SignatureError> {
        let bytes = bs58::decode(signature_b58.trim())
            .into_vec()
            .map_err(|_| SignatureError::Malformed)?;
        let bytes: [u8; 64] = bytes.try_into().map_err(|_| SignatureError::Malformed)?;
        let sig = ed25519_dalek::Signature::from_bytes(&bytes);
        let key = ed25519_dalek::VerifyingKey::from_bytes(&self.key)
            .map_err(|_| SignatureError::Wrong)?;
        key.verify_strict(message, &sig)
            .map_err(|_| SignatureError::Wrong)
    }
}

#[cfg(test)]
mod signature_tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn keypair() -> (SigningKey, WalletAddress) {
        let mut seed = [0u8; 32];
        rand::fill(&mut seed);
        let sk = SigningKey::from_bytes(&seed);
        let addr = WalletAddress::parse(&bs58::encode(sk.verifying_key().as_bytes()).into_string())
            .unwrap();
        (sk, addr)
    }

    #[test]
    fn a_signature_by_the_address_key_verifies() {
        let (sk, addr) = keypair();
        let sig = bs58::encode(sk.sign(b"hello").to_bytes()).into_string();
        assert_eq!(addr.verify(b"hello", &sig), Ok(()));
        assert_eq!(addr.verify(b"hello!", &sig), Err(SignatureError::Wrong));
        let (_, other) = keypair();
        assert_eq!(other.verify(b"hello", &sig), Err(SignatureError::Wrong));
        assert_eq!(
            addr.verify(b"hello", "not base58 0OIl"),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            addr.verify(b"hello", "3yZe7d"),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        assert!(WalletAddress::parse("").is_err());
        assert!(WalletAddress::parse("0OIl").is_err());
        assert!(WalletAddress::parse("3yZe7d").is_err());
        assert!(
            WalletAddress::parse(&"1".repeat(44)).is_err(),
            "44 zero bytes, not 32"
        );
    }

    #[test]
    fn the_challenge_names_domain_address_nonce_and_times() {
        let (_, addr) = keypair();
        let t = chrono::Utc::now();
        let m = crate::domain::challenge::challenge_message(
            "https",
            "keys.example",
            &addr,
            "ana@example.com",
            "n0nce",
            t,
            t + chrono::Duration::minutes(10),
        );
        assert!(m.starts_with("keys.example wants you to link your Solana account:\n"));
        assert!(
            m.contains(addr.as_str())
                && m.contains("Nonce: n0nce")
                && m.contains("Expiration Time: ")
        );
    }
}
