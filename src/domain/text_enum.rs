//! `text_enum!`: one declaration per enum that the database, forms and the wire name by a
//! stable code. It writes the enum (stored as text through `db::enums`), `ALL` in declaration
//! order, `as_str` and `parse` — so a new variant cannot miss its code, and every mapping reads
//! the same. (A macro rather than a crate such as strum: the four items are all we need, and
//! the codes stay next to the variants they name.)

/// Declares a text enum: `Variant = "code"` for each variant.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
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
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($code),+].len()] = [$($name::$variant),+];

            /// The stable code (database, forms, wire).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// Parses a stable code; `None` for a code this program does not know.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}
