//! Transactions that lost a race are run again. Every multi-row key transaction takes its locks
//! in one order — the account row first (`FOR NO KEY UPDATE`, which does not conflict with the
//! `FOR KEY SHARE` that foreign-key checks of inserted audit rows and keys take), then key rows
//! (in id order when there are several) — so two of them cannot wait for each other. Postgres
//! may still abort one with a deadlock (`40P01`: against a statement outside this rule) or a
//! serialization failure (`40001`); nothing of it was committed, so the whole transaction is
//! run again, a few times, after a short jittered pause (`transaction!`). What still fails is
//! answered 503 (`AppError`), never as done.

use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error};
use diesel_async::{AsyncConnection, AsyncPgConnection, TransactionManager};

/// Attempts of one transaction at most (the first and four more).
pub const MAX_ATTEMPTS: u32 = 5;

/// Whether `e` means the transaction lost a race with another one and may succeed when run
/// again: a serialization failure (`40001`), or a deadlock (`40P01`; diesel-async reports no
/// code for it, only Postgres's message, which is English unless `lc_messages` says otherwise).
pub fn is_retryable(e: &Error) -> bool {
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            info.message().starts_with("deadlock detected")
        }
        _ => false,
    }
}

/// The pause before attempt `next` (2, 3, …): up to 10 ms, then doubling, at random so the
/// transactions that met do not meet again.
fn pause(next: u32) -> Duration {
    let ceiling = 10u64 << next.saturating_sub(2).min(6);
    Duration::from_millis(rand::random_range(1..=ceiling))
}

/// After attempt `attempt` (1-based) ended with `result`: whether to run the transaction again
/// (having paused first). Never inside an outer transaction: its locks stay held, so only the
/// outer one can be run again.
pub async fn again<T>(
    conn: &mut AsyncPgConnection,
    result: &Result<T, Error>,
    attempt: u32,
) -> bool {
    let Err(e) = result else { return false };
    if !is_retryable(e) || attempt >= MAX_ATTEMPTS {
        return false;
    }
    let status =
        <AsyncPgConnection as AsyncConnection>::TransactionManager::transaction_manager_status_mut(
            conn,
        );
    if !matches!(status.transaction_depth(), Ok(None)) {
        return false;
    }
    tracing::warn!(attempt, error = %e, "transaction lost a race; running it again");
    tokio::time::sleep(pause(attempt + 1)).await;
    true
}

/// `conn.transaction(body)`, run again while it loses a race (`again`). `body` is evaluated
/// for every attempt: a closure that captures by reference or copies (a value it moved would
/// be gone after the first attempt, and the compiler says so).
macro_rules! transaction {
    ($conn:expr, $body:expr) => {{
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = diesel_async::AsyncConnection::transaction(&mut *$conn, $body).await;
            if !$crate::db::retry::again(&mut *$conn, &result, attempt).await {
                break result;
            }
        }
    }};
}
pub(crate) use transaction;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Info(&'static str);
    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn db(kind: DatabaseErrorKind, message: &'static str) -> Error {
        Error::DatabaseError(kind, Box::new(Info(message)))
    }

    #[test]
    fn only_lost_races_are_run_again() {
        assert!(is_retryable(&db(
            DatabaseErrorKind::SerializationFailure,
            "could not serialize access due to concurrent update"
        )));
        assert!(is_retryable(&db(
            DatabaseErrorKind::Unknown,
            "deadlock detected"
        )));
        assert!(!is_retryable(&db(
            DatabaseErrorKind::UniqueViolation,
            "duplicate key value violates unique constraint"
        )));
        assert!(!is_retryable(&db(
            DatabaseErrorKind::Unknown,
            "relation \"x\" does not exist"
        )));
        assert!(!is_retryable(&Error::NotFound));
    }

    #[test]
    fn pauses_grow_and_stay_short() {
        for next in 2..=MAX_ATTEMPTS {
            let p = pause(next);
            assert!(p >= Duration::from_millis(1));
            assert!(
                p <= Duration::from_millis(10 << (next - 2)),
                "{next}: {p:?}"
            );
        }
        assert!(pause(99) <= Duration::from_millis(640));
    }
}
