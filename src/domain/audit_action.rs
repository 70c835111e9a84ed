//! What an audit event records. One variant per kind of event, one stable code each (the
//! `audit_events.action` column), and the sentence a person reads for it.

use super::exposure::RevokeReason;
use super::wallet::short_address;

text_enum! {
    /// A kind of audit event.
    pub enum AuditAction {
        /// A sign-in with a wrong password (or an unknown e-mail).
        LoginFailed = "login.failed",
        /// A successful sign-in.
        LoginSucceeded = "login.succeeded",
        /// A sign-out.
        Logout = "logout",
        /// A key was created.
        KeyCreated = "key.created",
        /// A key was renamed.
        KeyRenamed = "key.renamed",
        /// A key's expiry changed.
        KeyExpirationChanged = "key.expiration_changed",
        /// A key was revoked.
        KeyRevoked = "key.revoked",
        /// A revoked or expired key was deleted.
        KeyDeleted = "key.deleted",
        /// A key was rolled onto a successor (the event names both).
        KeyRolled = "key.rolled",
        /// A key's note changed.
        KeyNoteChanged = "key.note_changed",
        /// A key's scopes changed (the event records before and after).
        KeyScopesChanged = "key.scopes_changed",
        /// Its owner paused a key.
        KeyPaused = "key.paused",
        /// Its owner resumed a paused key.
        KeyResumed = "key.resumed",
        /// A key's network binding changed (the event records before and after).
        KeyNetworkChanged = "key.network_changed",
        /// A key's rate limit changed (the event records before and after).
        KeyRateLimitChanged = "key.rate_limit_changed",
        /// A key's spend caps changed (the event records before and after).
        KeySpendCapsChanged = "key.spend_caps_changed",
        /// The password was entered again for a sensitive action.
        ReauthSucceeded = "reauth.succeeded",
        /// A wrong password was entered for a sensitive action.
        ReauthFailed = "reauth.failed",
        /// A self-custodied wallet was linked.
        WalletLinked = "wallet.linked",
        /// A wallet was unlinked.
        WalletUnlinked = "wallet.unlinked",
        /// A wallet link attempt was refused.
        WalletLinkFailed = "wallet.link_failed",
        /// Support staff viewed the account.
        SupportViewed = "support.viewed",
        /// Support staff exported the account's usage or audit trail (the event names what,
        /// the format and the days).
        SupportExported = "support.exported",
        /// An operator turned API keys on.
        ApiKeysEnabled = "eligibility.api_keys_enabled",
        /// An operator turned API keys off.
        ApiKeysDisabled = "eligibility.api_keys_disabled",
    }
}

impl AuditAction {
    /// The sentence a person reads, from the event's non-secret details (`name`, `address`,
    /// `reason`).
    pub fn describe(self, detail: &serde_json::Value) -> String {
        let text = |k: &str| detail.get(k).and_then(|v| v.as_str());
        let name = text("name").unwrap_or("a key");
        let wallet = text("address").map_or_else(
            || "a wallet".to_owned(),
            |a| format!("wallet {}", short_address(a)),
        );
        match self {
            AuditAction::LoginFailed => "Failed sign-in".into(),
            AuditAction::LoginSucceeded => "Signed in".into(),
            AuditAction::Logout => "Signed out".into(),
            AuditAction::KeyCreated => format!("Created key “{name}”"),
            AuditAction::KeyRenamed => format!("Renamed key to “{name}”"),
            AuditAction::KeyExpirationChanged => format!("Changed the expiration of “{name}”"),
            AuditAction::KeyRevoked => match text("reason").and_then(RevokeReason::parse) {
                Some(RevokeReason::Exposed) => {
                    format!("Key “{name}” was found exposed and revoked")
                }
                Some(RevokeReason::Reported) => {
                    format!("Key “{name}” was reported as leaked by someone holding it and revoked")
                }
                _ => format!("Revoked key “{name}”"),
            },
            AuditAction::KeyDeleted => format!("Deleted key “{name}”"),
            AuditAction::KeyRolled => match text("grace") {
                Some("now") => format!("Rolled key “{name}” (the old secret stopped at once)"),
                _ => format!(
                    "Rolled key “{name}” (the old secret works until its grace period ends)"
                ),
            },
            AuditAction::KeyNoteChanged => format!("Changed the note of “{name}”"),
            AuditAction::KeyScopesChanged => match text("scopes") {
                Some(s) => format!("Changed the scopes of “{name}” to {s}"),
                None => format!("Changed the scopes of “{name}”"),
            },
            AuditAction::KeyPaused => format!("Paused key “{name}”"),
            AuditAction::KeyResumed => format!("Resumed key “{name}”"),
            AuditAction::KeyNetworkChanged => {
                let to = detail.get("to");
                let mode = to
                    .and_then(|t| t.get("mode"))
                    .and_then(|m| m.as_str())
                    .and_then(super::network::NetworkMode::parse);
                let ranges = to
                    .and_then(|t| t.get("ranges"))
                    .and_then(|r| r.as_array())
                    .map_or(0, Vec::len);
                match mode {
                    Some(super::network::NetworkMode::Off) | None => {
                        format!("Turned off the network binding of “{name}”")
                    }
                    Some(super::network::NetworkMode::DryRun) => {
                        format!("Set “{name}” to a dry-run of {ranges} network range(s)")
                    }
                    Some(super::network::NetworkMode::Enforce) => {
                        format!("Bound “{name}” to {ranges} network range(s)")
                    }
                }
            }
            AuditAction::KeyRateLimitChanged => match detail.get("to").and_then(|v| v.as_i64()) {
                Some(n) => format!("Limited “{name}” to {n} requests a minute"),
                None => format!("Removed the rate limit of “{name}”"),
            },
            AuditAction::KeySpendCapsChanged => format!("Changed the spend caps of “{name}”"),
            AuditAction::ReauthSucceeded => "Confirmed the password".into(),
            AuditAction::ReauthFailed => "Entered a wrong password to confirm an action".into(),
            AuditAction::WalletLinked => format!("Linked {wallet}"),
            AuditAction::WalletUnlinked => format!("Unlinked {wallet}"),
            AuditAction::WalletLinkFailed => {
                let why = match text("reason") {
                    Some("bad_signature") => "the signature didn't match",
                    Some("expired_challenge") => "the linking request had expired",
                    Some("reused_challenge") => "the linking request was already used",
                    Some("unknown_challenge") => "the linking request wasn't valid",
                    Some("different_address") => "the signature came from another wallet",
                    Some("address_taken") => "the wallet belongs to an account already",
                    _ => "it was refused",
                };
                format!("Couldn't link {wallet}: {why}")
            }
            AuditAction::SupportViewed => "Support viewed the account".into(),
            AuditAction::SupportExported => {
                let what = match text("what") {
                    Some("usage") => "usage",
                    Some("audit") => "audit trail",
                    _ => "data",
                };
                match (text("from"), text("to")) {
                    (Some(from), Some(to)) => {
                        format!("Support exported the account's {what} from {from} to {to}")
                    }
                    _ => format!("Support exported the account's {what}"),
                }
            }
            AuditAction::ApiKeysEnabled => "API keys were enabled for the account".into(),
            AuditAction::ApiKeysDisabled => "API keys were turned off for the account".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_every_action_reads_as_words() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
            let text = a.describe(&serde_json::json!({}));
            assert!(!text.contains('.') && !text.contains('_'), "{text}");
        }
        assert_eq!(AuditAction::parse("key.exploded"), None);
    }

    #[test]
    fn a_revocation_without_its_owner_says_why() {
        let d = |reason: &str| serde_json::json!({ "name": "bot", "reason": reason });
        assert_eq!(
            AuditAction::KeyRevoked.describe(&d("exposed")),
            "Key “bot” was found exposed and revoked"
        );
        assert!(
            AuditAction::KeyRevoked
                .describe(&d("reported"))
                .contains("reported as leaked")
        );
        assert_eq!(
            AuditAction::KeyRevoked.describe(&serde_json::json!({ "name": "bot" })),
            "Revoked key “bot”"
        );
    }

    #[test]
    fn a_support_export_says_what_and_which_days() {
        let d = serde_json::json!({ "what": "audit", "format": "csv", "from": "2026-11-01", "to": "2026-11-30" });
        assert_eq!(
            AuditAction::SupportExported.describe(&d),
            "Support exported the account's audit trail from 2026-11-01 to 2026-11-30"
        );
    }

    #[test]
    fn wallet_events_name_the_wallet_and_the_reason() {
        let d = serde_json::json!({
            "address": "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin",
            "reason": "bad_signature"
        });
        assert_eq!(
            AuditAction::WalletLinkFailed.describe(&d),
            "Couldn't link wallet 9xQe…VFin: the signature didn't match"
        );
        assert_eq!(
            AuditAction::WalletLinked.describe(&d),
            "Linked wallet 9xQe…VFin"
        );
    }
}
