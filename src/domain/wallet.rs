//! Solana wallets linked to an account.

/// Who holds a wallet's private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletKind {
    /// Self-custodied; ownership proven by signing a challenge. The only kind that qualifies.
    External,
    /// Created and held by the platform inside the app.
    Embedded,
    /// Held by the platform on the user's behalf.
    Custodial,
}

impl WalletKind {
    /// Every kind.
    pub const ALL: [WalletKind; 3] = [
        WalletKind::External,
        WalletKind::Embedded,
        WalletKind::Custodial,
    ];

    /// Database name.
    pub fn as_str(self) -> &'static str {
        match self {
            WalletKind::External => "external",
            WalletKind::Embedded => "embedded",
            WalletKind::Custodial => "custodial",
        }
    }
    /// Label shown to people.
    pub fn label(self) -> &'static str {
        match self {
            WalletKind::External => "External",
            WalletKind::Embedded => "Embedded",
            WalletKind::Custodial => "Custodial",
        }
    }
    /// Parses the database name.
    pub fn parse(s: &str) -> Option<WalletKind> {
        WalletKind::ALL.into_iter().find(|k| k.as_str() == s)
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
