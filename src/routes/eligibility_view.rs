//! The eligibility reasons as people read them: the same words on the keys page and in the
//! support console.

use crate::domain::eligibility::{Eligibility, MAX_ACTIVE_KEYS, Reason};

/// One reason, ready for a template.
#[derive(Debug, Clone)]
pub struct ReasonView {
    /// Stable code (shown to support staff).
    pub code: &'static str,
    /// What is wrong.
    pub title: String,
    /// Why, and what to do.
    pub detail: String,
    /// Link text of the next step.
    pub action_label: &'static str,
    /// Link of the next step (empty when none).
    pub action_href: String,
}

/// Every reason of `e`, in order.
pub fn reasons(e: &Eligibility, support_email: &str) -> Vec<ReasonView> {
    e.reasons
        .iter()
        .map(|r| match r {
            Reason::ApiKeysNotEnabled => ReasonView {
                code: r.code(),
                title: "API keys aren't enabled for this account.".into(),
                detail: format!("Contact {support_email} to request access."),
                action_label: "Email support",
                action_href: format!("mailto:{support_email}?subject=API%20key%20access"),
            },
            Reason::NoExternalWallet => ReasonView {
                code: r.code(),
                title: "No self-custodied Solana wallet is linked.".into(),
                detail: "Link a wallet you control (such as Phantom, Solflare or a CLI keypair) by signing a message with it.".into(),
                action_label: "Link a wallet →",
                action_href: "/settings/wallets".into(),
            },
            Reason::OnlyPlatformWallets(wallets) => {
                let which = match wallets.as_slice() {
                    [w] => format!(
                        "Your wallet {} is {} (held by us), which doesn't qualify.",
                        w.short_address,
                        w.kind.label().to_lowercase()
                    ),
                    many => {
                        let named: Vec<String> = many
                            .iter()
                            .map(|w| format!("{} ({})", w.short_address, w.kind.label().to_lowercase()))
                            .collect();
                        format!("Your wallets {} are held by us, which doesn't qualify.", named.join(", "))
                    }
                };
                ReasonView {
                    code: r.code(),
                    title: "No self-custodied Solana wallet is linked.".into(),
                    detail: format!("{which} Link a wallet only you control."),
                    action_label: "Link a wallet →",
                    action_href: "/settings/wallets".into(),
                }
            }
            Reason::ActiveKeyLimitReached => ReasonView {
                code: r.code(),
                title: format!("{MAX_ACTIVE_KEYS} of {MAX_ACTIVE_KEYS} active keys."),
                detail: "Revoke a key you no longer use to create a new one.".into(),
                action_label: "",
                action_href: String::new(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::WalletKind;
    use crate::domain::eligibility::Facts;

    #[test]
    fn platform_wallets_are_named_with_their_kind() {
        let w = vec![(
            WalletKind::Custodial,
            "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJo9fQ2".to_string(),
        )];
        let e = Eligibility::evaluate(&Facts {
            api_keys_enabled: true,
            wallets: &w,
            active_keys: 0,
        });
        let r = reasons(&e, "help@example.com");
        assert_eq!(r.len(), 1);
        assert_eq!(
            r[0].detail,
            "Your wallet 7xKX…9fQ2 is custodial (held by us), which doesn't qualify. Link a wallet only you control."
        );
    }
}
