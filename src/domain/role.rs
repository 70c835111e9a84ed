//! Account roles.

text_enum! {
    /// What a user may see.
    pub enum Role {
        /// A customer: their own settings only.
        Member = "member",
        /// Support staff: the read-only console too.
        Support = "support",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn roles_round_trip() {
        for r in [Role::Member, Role::Support] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
