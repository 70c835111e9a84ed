//! Whether an account may create keys, and every reason why not (SPEC §1).

use super::wallet::{WalletKind, short_address};

/// At most this many active (not revoked, not expired) keys per account.
pub const MAX_ACTIVE_KEYS: i64 = 10;

/// A platform-held wallet named in the `only_platform_wallets` reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformWallet {
    /// Embedded or custodial.
    pub kind: WalletKind,
    /// `7xKX…9fQ2`.
    pub short_address: String,
}

/// One failing condition, with a stable code shown to support staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The operator flag is off.
    ApiKeysNotEnabled,
    /// No wallet of any kind.
    NoExternalWallet,
    /// Only embedded/custodial wallets, which the platform holds.
    OnlyPlatformWallets(Vec<PlatformWallet>),
    /// Ten active keys already.
    ActiveKeyLimitReached,
}

impl Reason {
    /// Stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::ApiKeysNotEnabled => "api_keys_not_enabled",
            Reason::NoExternalWallet => "no_external_wallet",
            Reason::OnlyPlatformWallets(_) => "only_platform_wallets",
            Reason::ActiveKeyLimitReached => "active_key_limit_reached",
        }
    }

    /// Whether this reason pauses existing keys (everything but the key limit does).
    pub fn pauses_keys(&self) -> bool {
        !matches!(self, Reason::ActiveKeyLimitReached)
    }
}

/// The facts eligibility is decided from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The operator flag.
    pub api_keys_enabled: bool,
    /// Every wallet: kind and address.
    pub wallets: &'a [(WalletKind, String)],
    /// Keys neither revoked nor expired.
    pub active_keys: i64,
}

/// The outcome: all failing reasons, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility {
    /// Every reason that fails; empty when the account may create a key.
    pub reasons: Vec<Reason>,
    /// Active keys counted.
    pub active_keys: i64,
}

impl Eligibility {
    /// Evaluates every rule; never stops at the first failure.
    pub fn evaluate(facts: &Facts<'_>) -> Self {
        let mut reasons = Vec::new();
        if !facts.api_keys_enabled {
            reasons.push(Reason::ApiKeysNotEnabled);
        }
        if !facts
            .wallets
            .iter()
            .any(|(k, _)| *k == WalletKind::External)
        {
            if facts.wallets.is_empty() {
                reasons.push(Reason::NoExternalWallet);
            } else {
                reasons.push(Reason::OnlyPlatformWallets(
                    facts
                        .wallets
                        .iter()
                        .map(|(kind, addr)| PlatformWallet {
                            kind: *kind,
                            short_address: short_address(addr),
                        })
                        .collect(),
                ));
            }
        }
        if facts.active_keys >= MAX_ACTIVE_KEYS {
            reasons.push(Reason::ActiveKeyLimitReached);
        }
        Self {
            reasons,
            active_keys: facts.active_keys,
        }
    }

    /// May the account create a key now?
    pub fn can_create(&self) -> bool {
        self.reasons.is_empty()
    }

    /// Are the account's keys paused (rejected by the API) right now?
    pub fn keys_paused(&self) -> bool {
        self.reasons.iter().any(Reason::pauses_keys)
    }

    /// Why the account's keys are paused, in a few words (None when they are not).
    pub fn pause_reason(&self) -> Option<&'static str> {
        let flag = self.reasons.contains(&Reason::ApiKeysNotEnabled);
        let wallet = self
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::NoExternalWallet | Reason::OnlyPlatformWallets(_)));
        match (flag, wallet) {
            (true, true) => Some("API keys aren't enabled and no self-custodied wallet is linked"),
            (true, false) => Some("API keys aren't enabled"),
            (false, true) => Some("no self-custodied wallet is linked"),
            (false, false) => None,
        }
    }

    /// Reason codes, for logs, support and JSON.
    pub fn codes(&self) -> Vec<&'static str> {
        self.reasons.iter().map(Reason::code).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(enabled: bool, wallets: &[(WalletKind, &str)], active: i64) -> Eligibility {
        let w: Vec<(WalletKind, String)> =
            wallets.iter().map(|(k, a)| (*k, a.to_string())).collect();
        Eligibility::evaluate(&Facts {
            api_keys_enabled: enabled,
            wallets: &w,
            active_keys: active,
        })
    }

    const ADDR: &str = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU";

    #[test]
    fn an_enabled_account_with_an_external_wallet_is_eligible() {
        let e = eval(true, &[(WalletKind::External, ADDR)], 3);
        assert!(e.can_create());
        assert!(!e.keys_paused());
    }

    #[test]
    fn every_failing_reason_is_reported_at_once() {
        let e = eval(false, &[(WalletKind::Custodial, ADDR)], 10);
        assert_eq!(
            e.codes(),
            [
                "api_keys_not_enabled",
                "only_platform_wallets",
                "active_key_limit_reached"
            ]
        );
        assert!(e.keys_paused());
        let e = eval(false, &[], 0);
        assert_eq!(e.codes(), ["api_keys_not_enabled", "no_external_wallet"]);
    }

    #[test]
    fn platform_wallets_are_named_by_kind_and_short_address() {
        let e = eval(
            true,
            &[(WalletKind::Embedded, ADDR), (WalletKind::Custodial, "abc")],
            0,
        );
        assert_eq!(
            e.reasons,
            vec![Reason::OnlyPlatformWallets(vec![
                PlatformWallet {
                    kind: WalletKind::Embedded,
                    short_address: "7xKX…gAsU".into()
                },
                PlatformWallet {
                    kind: WalletKind::Custodial,
                    short_address: "abc".into()
                },
            ])]
        );
    }

    #[test]
    fn the_key_limit_blocks_creation_but_does_not_pause_keys() {
        let e = eval(true, &[(WalletKind::External, ADDR)], 10);
        assert_eq!(e.codes(), ["active_key_limit_reached"]);
        assert!(!e.can_create());
        assert!(!e.keys_paused());
        assert!(eval(true, &[(WalletKind::External, ADDR)], 9).can_create());
    }
}
