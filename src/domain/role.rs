//! Account roles.

/// What a user may see.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Role {
    /// A customer: their own settings only.
    Member,
    /// Support staff: the read-only console too.
    Support,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 2] = [Role::Member, Role::Support];

    /// Database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Support => "support",
        }
    }
    /// Parses the database name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
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
