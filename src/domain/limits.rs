//! Length bounds of every text a client sends, checked before any query: a value that can
//! never be valid is refused with a message, instead of reaching an index (a btree entry over
//! ~2.7 KB fails as a database error, which would be a 500).

/// E-mail (RFC 5321 path limit).
pub const EMAIL: usize = 254;
/// Password.
pub const PASSWORD: usize = 1_024;
/// Key name (also enforced with the other name rules in `key_name`).
pub const NAME: usize = 64;
/// Support search text.
pub const SEARCH: usize = 256;
/// Wallet address (base58 of 32 bytes is at most 44 characters).
pub const ADDRESS: usize = 64;
/// Wallet signature (base58 of 64 bytes is at most 88 characters).
pub const SIGNATURE: usize = 128;
/// Anything else short: ids, presets, time-zone names, dates.
pub const SHORT: usize = 100;

/// Checks each `(label, value, max characters)`; the first that is too long names itself.
pub fn check(fields: &[(&str, &str, usize)]) -> Result<(), String> {
    for (label, value, max) in fields {
        if value.chars().count() > *max {
            return Err(format!("{label} is too long (at most {max} characters)."));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_over_long_field_is_named() {
        assert_eq!(check(&[("E-mail", "a@b.c", EMAIL)]), Ok(()));
        let long = "x".repeat(EMAIL + 1);
        assert_eq!(
            check(&[("E-mail", &long, EMAIL), ("Password", &long, 1)]),
            Err("E-mail is too long (at most 254 characters).".into())
        );
        assert_eq!(check(&[("Name", &"é".repeat(NAME), NAME)]), Ok(()));
    }
}
