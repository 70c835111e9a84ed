//! The domain's text enums in the database: each is stored as its stable code (`as_str`) and
//! read back through `parse`. A code the program does not know is an error, never a guess.

use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use crate::domain::network::NetworkMode;
use crate::domain::notice::{Channel, NoticeKind};
use crate::domain::usage::Outcome;
use crate::domain::{AuditAction, AuthFailure, RevokeReason, Role, Scope, WalletKind};

macro_rules! text_enum {
    ($($t:ident),* $(,)?) => {$(
        impl ToSql<Text, Pg> for $t {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl FromSql<Text, Pg> for $t {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let s = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                $t::parse(&s).ok_or_else(|| {
                    format!("unknown {} in the database: {s:?}", stringify!($t)).into()
                })
            }
        }
    )*};
}

text_enum!(
    AuditAction,
    AuthFailure,
    Channel,
    NetworkMode,
    NoticeKind,
    Outcome,
    RevokeReason,
    Role,
    Scope,
    WalletKind
);
