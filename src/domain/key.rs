//! API-key secrets: generation, parsing without I/O, and the peppered hash that is stored.
//!
//! Format: `phy_` + 32 base62 characters from a CSPRNG (≈ 190 bits) + 6 base62 characters of
//! the CRC32 of everything before them. 42 characters in all. The checksum lets us reject a
//! mistyped or truncated key before touching the database, and lets secret scanners recognise
//! real keys.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

/// The prefix of every key.
///
/// NEVER CHANGE THIS once keys exist: it is part of the checksummed secret, so changing it
/// would make every issued key fail to parse (an implicit revocation of all keys).
pub const KEY_PREFIX: &str = "phy_";
/// Random characters after the prefix.
const RANDOM_LEN: usize = 32;
/// Base62 checksum characters at the end.
const CHECKSUM_LEN: usize = 6;
/// Total length of a key.
pub const KEY_LEN: usize = KEY_PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
/// Characters of the key shown after creation (`phy_` + 8).
pub const DISPLAY_PREFIX_LEN: usize = 12;
/// Characters of the key's end shown beside the prefix (they are the CRC32 checksum, so they
/// tell nothing about the random part that the checksum does not already).
pub const DISPLAY_TAIL_LEN: usize = 6;
/// Version of the stored hash scheme (HMAC-SHA-256 under `APP_KEY_PEPPER`).
pub const HASH_VERSION: i16 = 1;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn checksum(body: &str) -> [u8; CHECKSUM_LEN] {
    let mut n = crc32fast::hash(body.as_bytes()) as u64;
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// A full key secret. Its `Debug` never shows it (and it has no `Display`); only [`PlainKey::expose`] does,
/// and that is called exactly once: to put it in the one-time dialog.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainKey(String);

/// Why a presented key was rejected before any database access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedKey {
    /// Wrong length, prefix or alphabet.
    #[error("the key does not have the phy_ format")]
    Shape,
    /// Right shape, wrong checksum (a typo or a truncated copy).
    #[error("the key's checksum does not match")]
    Checksum,
}

impl PlainKey {
    /// Makes a new key from `rand::rng()`, a ChaCha12 CSPRNG seeded and periodically reseeded
    /// from the operating system.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut s = String::with_capacity(KEY_LEN);
        s.push_str(KEY_PREFIX);
        for _ in 0..RANDOM_LEN {
            // 62 is not a power of two: sample uniformly instead of taking a byte modulo 62.
            s.push(BASE62[rng.random_range(0..62)] as char);
        }
        let sum = checksum(&s);
        s.extend(sum.iter().map(|&b| b as char));
        Self(s)
    }

    /// Parses a presented key: shape and checksum only, no I/O.
    pub fn parse(candidate: &str) -> Result<Self, MalformedKey> {
        if candidate.len() != KEY_LEN
            || !candidate.starts_with(KEY_PREFIX)
            || !candidate[KEY_PREFIX.len()..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric())
        {
            return Err(MalformedKey::Shape);
        }
        let (body, sum) = candidate.split_at(KEY_LEN - CHECKSUM_LEN);
        if checksum(body).as_slice() != sum.as_bytes() {
            return Err(MalformedKey::Checksum);
        }
        Ok(Self(candidate.to_owned()))
    }

    /// The 12-character prefix shown in lists (identification only).
    pub fn display_prefix(&self) -> &str {
        &self.0[..DISPLAY_PREFIX_LEN]
    }

    /// The last 6 characters, shown beside the prefix (identification only).
    pub fn display_tail(&self) -> &str {
        &self.0[KEY_LEN - DISPLAY_TAIL_LEN..]
    }

    /// The secret itself. Only for the one-time dialog.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PlainKey({}…[redacted])", self.display_prefix())
    }
}

/// How a key is shown once its secret is gone: both ends, `phy_7QkR2mXa…Jx9QzA` (keys made
/// before tails were stored show their prefix only).
pub fn display(prefix: &str, tail: Option<&str>) -> String {
    match tail {
        Some(t) => format!("{prefix}…{t}"),
        None => format!("{prefix}…"),
    }
}

/// The stored form of a key: HMAC-SHA-256 under the server's pepper.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyHash(pub [u8; 32]);

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHash")
    }
}

/// Hashes keys under the pepper from configuration.
#[derive(Clone)]
pub struct KeyHasher {
    mac: Hmac<Sha256>,
}

impl KeyHasher {
    /// Prepares the HMAC key once; cloning the prepared state is cheaper than re-keying.
    pub fn new(pepper: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail; fall back to the empty-key MAC
        // rather than panic if the library ever changes that.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(pepper)
            .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new(&Default::default()));
        Self { mac }
    }

    /// The hash of a key.
    pub fn hash(&self, key: &PlainKey) -> KeyHash {
        let mut mac = self.mac.clone();
        mac.update(key.0.as_bytes());
        KeyHash(mac.finalize().into_bytes().into())
    }
}

impl std::fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHasher([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_keys_have_the_documented_shape_and_parse() {
        let k = PlainKey::generate();
        assert_eq!(k.expose().len(), 42);
        assert!(k.expose().starts_with("phy_"));
        assert_eq!(k.display_prefix().len(), 12);
        assert_eq!(PlainKey::parse(k.expose()), Ok(k));
    }

    #[test]
    fn every_single_character_change_fails_the_checksum_or_shape() {
        for _ in 0..20 {
            let k = PlainKey::generate();
            let bytes = k.expose().as_bytes().to_vec();
            for i in KEY_PREFIX.len()..bytes.len() {
                for &c in BASE62.iter() {
                    if c == bytes[i] {
                        continue;
                    }
                    let mut b = bytes.clone();
                    b[i] = c;
                    let s = String::from_utf8(b).unwrap();
                    assert!(PlainKey::parse(&s).is_err(), "{s} parsed");
                }
            }
        }
    }

    #[test]
    fn wrong_shapes_are_rejected_before_any_lookup() {
        let k = PlainKey::generate();
        let good = k.expose();
        for bad in [
            "",
            "phy_",
            &good[..41],
            &format!("{good}x"),
            &good.replace("phy_", "phz_"),
            &format!("phy_{}", "é".repeat(19)),
            "phy_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert!(PlainKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_hundred_thousand_keys_do_not_collide() {
        let mut seen = HashSet::new();
        for _ in 0..100_000 {
            assert!(seen.insert(PlainKey::generate().0));
        }
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let k = PlainKey::generate();
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(k.expose()));
        assert!(dbg.contains(k.display_prefix()));
        let h = KeyHasher::new(b"pepper-pepper-pepper-pepper-pepper");
        assert_eq!(format!("{:?}", h.hash(&k)), "KeyHash");
    }

    #[test]
    fn the_hash_depends_on_the_pepper() {
        let k = PlainKey::generate();
        let a = KeyHasher::new(&[1; 32]).hash(&k);
        let b = KeyHasher::new(&[2; 32]).hash(&k);
        assert_ne!(a, b);
        assert_eq!(a, KeyHasher::new(&[1; 32]).hash(&k));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,64}") {
            let _ = PlainKey::parse(&s);
        }
    }
}
