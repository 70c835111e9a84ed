//! keydesk's integration tests: the real app over real HTTP, against a real PostgreSQL (a
//! database cloned from a migrated template per test), and a real browser for `e2e`.
//! Run with `./dev.sh test`, which starts the private Postgres and sets TEST_DATABASE_URL.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly"
)]

mod api_keys;
mod containment;
mod create_key;
mod e2e;
mod e2e_containment;
mod e2e_roll;
mod exposed;
mod fairness;
mod foundation;
mod hardening;
mod hardening3;
mod hardening3b;
mod helpers;
mod key_api;
mod key_edits;
mod lifecycle;
mod listeners;
mod logs;
mod migrations;
mod notices;
mod rate_limits;
mod roll;
mod spend;
mod support;
mod usage;
mod ux;
mod wallets;
mod watch;
