//! Passwords: argon2id with the crate's defaults (m = 19 MiB, t = 2, p = 1), computed on the
//! blocking pool and never more than a few at once. Unknown e-mails are checked against a
//! dummy hash so they take as long as wrong passwords. The queue of checks waiting for a turn
//! is bounded too: a login flood is answered 503 at once instead of waiting without end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::config::Secret;

/// A hash of a password nobody has, made once with the same parameters as real hashes.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_blocking(&Secret::new("keydesk dummy password, never matches".into())).unwrap_or_default()
});

/// Bounds concurrent hashing so a login flood cannot take every core and all memory.
#[derive(Clone, Debug)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    queued: Arc<AtomicUsize>,
    max_queued: usize,
}

/// Every place in the password-check queue is taken: answer 503 and let the client retry.
#[derive(Debug, thiserror::Error)]
#[error("too many password checks waiting")]
pub struct Busy;

/// A place in the queue of password checks, held from the start of a login attempt until its
/// check has run (released on drop).
#[derive(Debug)]
pub struct Place {
    permits: Arc<Semaphore>,
    queued: Arc<AtomicUsize>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hasher {
    /// At most `concurrent` hashes at a time, and at most `max_queued` logins holding a place.
    pub fn new(concurrent: usize, max_queued: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrent.max(1))),
            queued: Arc::new(AtomicUsize::new(0)),
            max_queued: max_queued.max(1),
        }
    }

    /// Takes a place in the queue, or `Busy` when every place is taken. Taken before any other
    /// work of a login, so a refused attempt costs (and counts) nothing.
    pub fn place(&self) -> Result<Place, Busy> {
        let before = self.queued.fetch_add(1, Ordering::AcqRel);
        let place = Place {
            permits: self.permits.clone(),
            queued: self.queued.clone(),
        };
        if before >= self.max_queued {
            return Err(Busy); // `place` drops here and gives the slot back
        }
        Ok(place)
    }
}

impl Place {
    /// Checks `password` against `stored` (or the dummy hash when the account does not exist).
    pub async fn verify(
        self,
        password: Secret<String>,
        stored: Option<String>,
    ) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let ok = tokio::task::spawn_blocking(move || verify_blocking(&password, &phc)).await??;
        Ok(ok && known)
    }
}

impl Hasher {
    /// Hashes a new password.
    pub async fn hash(&self, password: Secret<String>) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
    }
}

/// Hashes on the current thread (CLI and start-up only).
pub fn hash_blocking(password: &Secret<String>) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

fn verify_blocking(password: &Secret<String>, phc: &str) -> anyhow::Result<bool> {
    let parsed =
        PasswordHash::new(phc).map_err(|e| anyhow::anyhow!("stored hash is invalid: {e}"))?;
    Ok(Argon2::default()
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok())
}

/// Computes the dummy hash now, so the first unknown-user login is not faster than the rest.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

/// A random password for new and demo accounts (≈ 119 bits).
pub fn generate_password() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_right_password_verifies_and_others_do_not() {
        let h = Hasher::new(2, 8);
        let stored = h.hash(Secret::new("correct horse".into())).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        let check = |pw: &str, stored: Option<String>| {
            h.place().unwrap().verify(Secret::new(pw.into()), stored)
        };
        assert!(check("correct horse", Some(stored.clone())).await.unwrap());
        assert!(!check("wrong", Some(stored)).await.unwrap());
        assert!(!check("anything", None).await.unwrap());
    }

    #[test]
    fn the_queue_is_bounded_and_places_come_back() {
        let h = Hasher::new(1, 2);
        let a = h.place().unwrap();
        let _b = h.place().unwrap();
        assert!(h.place().is_err(), "a third place while two are held");
        drop(a);
        assert!(h.place().is_ok(), "a place is free again");
    }
}
