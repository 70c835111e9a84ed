//! What a key may do. One string mapping, used by forms, the database and templates.

text_enum! {
    /// A permission a key can carry.
    #[derive(Hash, PartialOrd, Ord)]
    pub enum Scope {
        /// Buy with crypto through the VM.
        VmBuyCrypto = "vm.buy.crypto",
        /// Take a claw bid on the marketplace.
        MarketplaceTakeClawBid = "marketplace.take-claw-bid",
    }
}

impl Scope {
    /// The one-line description shown next to the checkbox.
    pub fn description(self) -> &'static str {
        match self {
            Scope::VmBuyCrypto => "Buy from vending machines with crypto on your behalf.",
            Scope::MarketplaceTakeClawBid => "Accept claw bids on the marketplace for you.",
        }
    }

    /// Whether the scope spends its owner's money (such keys deserve a network binding or a
    /// spend cap; key health names the ones with neither).
    pub fn moves_money(self) -> bool {
        match self {
            Scope::VmBuyCrypto => true,
            Scope::MarketplaceTakeClawBid => false,
        }
    }

    /// The names, space-separated (the OAuth `scope` form).
    pub fn joined(scopes: &[Scope], separator: &str) -> String {
        let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        names.join(separator)
    }

    /// Parses a form's list of checked scopes: at least one, only known ones, no duplicates.
    pub fn parse_set(values: &[String]) -> Result<Vec<Scope>, &'static str> {
        let mut out = Vec::new();
        for v in values {
            let sc = Scope::parse(v).ok_or("Choose scopes from the list")?;
            if !out.contains(&sc) {
                out.push(sc);
            }
        }
        if out.is_empty() {
            return Err("Choose at least one scope");
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_round_trips_through_its_name() {
        for sc in Scope::ALL {
            assert_eq!(Scope::parse(sc.as_str()), Some(sc));
            assert!(!sc.description().is_empty());
        }
        assert_eq!(Scope::parse("VM.BUY.CRYPTO"), None);
        assert_eq!(Scope::parse(""), None);
    }

    #[test]
    fn a_scope_set_needs_one_known_scope() {
        assert!(Scope::parse_set(&[]).is_err());
        assert!(Scope::parse_set(&["admin".into()]).is_err());
        assert_eq!(
            Scope::parse_set(&[
                "marketplace.take-claw-bid".into(),
                "vm.buy.crypto".into(),
                "vm.buy.crypto".into()
            ]),
            Ok(vec![Scope::VmBuyCrypto, Scope::MarketplaceTakeClawBid])
        );
    }
}
