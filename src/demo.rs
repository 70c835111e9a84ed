//! `keydesk demo seed`: the demo accounts of `./dev.sh run`, one per eligibility state plus a
//! support user, with new passwords printed on every run. Ana's keys are in every status and
//! show the round-3 bounds: a key in a network dry-run with an address it would have refused
//! and a rate limit, and a key its owner paused (`kiosk-tablet`).

use chrono::{Duration, Utc};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::admin::connect;
use crate::auth::password::{generate_password, hash_blocking};
use crate::config::{Secret, Settings};
use crate::db::api_keys::{self, CreateOutcome, KeySpec, NewKey};
use crate::db::audit::Origin;
use crate::db::{users, wallets};
use crate::domain::network::{Binding, NetworkMode, Networks};
use crate::domain::{Expiration, KeyHasher, KeyName, KeyNote, Role, Scope, WalletKind};

struct DemoAccount {
    email: &'static str,
    role: Role,
    enabled: bool,
    wallets: &'static [(WalletKind, &'static str)],
    what: &'static str,
}

const DEMO: &[DemoAccount] = &[
    DemoAccount {
        email: "ana@example.com",
        role: Role::Member,
        enabled: true,
        wallets: &[(
            WalletKind::External,
            "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU",
        )],
        what: "eligible; keys in every status",
    },
    DemoAccount {
        email: "flagoff@example.com",
        role: Role::Member,
        enabled: false,
        wallets: &[(
            WalletKind::External,
            "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM",
        )],
        what: "api_keys_not_enabled",
    },
    DemoAccount {
        email: "nowallet@example.com",
        role: Role::Member,
        enabled: true,
        wallets: &[],
        what: "no_external_wallet (one wallet link away from eligible)",
    },
    DemoAccount {
        email: "custodial@example.com",
        role: Role::Member,
        enabled: true,
        wallets: &[
            (
                WalletKind::Custodial,
                "HN7cABqLq46Es1jh92dQQisAq662SmxELLLsHHe4YWrH",
            ),
            (
                WalletKind::Embedded,
                "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1",
            ),
        ],
        what: "only_platform_wallets",
    },
    DemoAccount {
        email: "full@example.com",
        role: Role::Member,
        enabled: true,
        wallets: &[(
            WalletKind::External,
            "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy",
        )],
        what: "active_key_limit_reached (10 of 10)",
    },
    DemoAccount {
        email: "blocked@example.com",
        role: Role::Member,
        enabled: false,
        wallets: &[(
            WalletKind::Embedded,
            "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T",
        )],
        what: "api_keys_not_enabled + only_platform_wallets",
    },
    DemoAccount {
        email: "support@example.com",
        role: Role::Support,
        enabled: false,
        wallets: &[],
        what: "support staff (read-only console)",
    },
];

/// Creates (or resets) the demo accounts, prints their new passwords. Idempotent: wallets and
/// keys are added only where missing.
pub async fn seed(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = connect(settings).await?;
    let hasher = KeyHasher::new(settings.key_pepper.expose());
    println!("{:<24} {:<22} state", "e-mail", "password");
    for acc in DEMO {
        let password = generate_password();
        let hash = hash_blocking(&Secret::new(password.clone()))?;
        let user = match users::find_by_email(&mut conn, acc.email).await? {
            Some(u) => {
                users::set_password(&mut conn, u.id, &hash).await?;
                u
            }
            None => users::insert(&mut conn, acc.email, &hash, acc.role).await?,
        };
        users::set_role(&mut conn, user.id, acc.role).await?;
        let have: Vec<String> = wallets::list_for_account(&mut conn, user.id)
            .await?
            .into_iter()
            .map(|w| w.address)
            .collect();
        for (kind, addr) in acc.wallets {
            if !have.iter().any(|a| a == addr) {
                wallets::insert_for_account(&mut conn, user.id, addr, *kind).await?;
            }
        }
        // Keys are made while the flag is on, then the flag is set as the account wants it.
        users::set_api_keys_enabled(&mut conn, user.id, true).await?;
        if api_keys::list_for_account(&mut conn, user.id, true)
            .await?
            .is_empty()
        {
            seed_keys(&mut conn, &hasher, user.id, acc.email).await?;
        }
        users::set_api_keys_enabled(&mut conn, user.id, acc.enabled).await?;
        println!("{:<24} {:<22} {}", acc.email, password, acc.what);
    }
    Ok(())
}

async fn seed_keys(
    conn: &mut AsyncPgConnection,
    hasher: &KeyHasher,
    account: Uuid,
    email: &str,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let plan: Vec<(String, Option<chrono::DateTime<Utc>>, bool)> = match email {
        "ana@example.com" => vec![
            ("production-bot".into(), None, false),
            (
                "buyback-script".into(),
                Some(now + Duration::days(5)),
                false,
            ),
            (
                "nightly-report".into(),
                Some(now + Duration::days(90)),
                false,
            ),
            ("old-bot".into(), None, true),
            ("kiosk-tablet".into(), Some(now + Duration::days(60)), false),
            ("trial-2025".into(), Some(now - Duration::days(3)), false),
        ],
        "full@example.com" => (1..=10)
            .map(|i| (format!("worker-{i:02}"), None, false))
            .collect(),
        "flagoff@example.com" | "blocked@example.com" => vec![("paused-bot".into(), None, false)],
        _ => vec![],
    };
    let origin = Origin::default();
    for (name, expires_at, revoke) in plan {
        let name = KeyName::parse(&name).map_err(|e| anyhow::anyhow!("demo key name: {e}"))?;
        let expiration = expires_at.map_or(Expiration::Never, Expiration::At);
        let note = match name.as_str() {
            "production-bot" => "Buys from the office vending machine every weekday at 9:00",
            _ => "",
        };
        let note = KeyNote::parse(note).map_err(|e| anyhow::anyhow!("demo note: {e}"))?;
        let spec = KeySpec::new(&name, &note, Scope::ALL.to_vec(), expiration, None);
        let (_, row) = NewKey::generate(hasher, account, spec, Uuid::new_v4());
        let outcome = api_keys::create_for_account(conn, row, &origin).await?;
        let CreateOutcome::Created(row) = outcome else {
            continue;
        };
        if revoke {
            api_keys::revoke_for_account(conn, account, row.id, account, &origin).await?;
        }
        if row.name == "production-bot" {
            bounds_for_production_bot(conn, account, row.id, &origin).await?;
        }
        if row.name == "kiosk-tablet" {
            api_keys::set_paused_for_account(conn, account, row.id, true, &origin).await?;
        }
        // one key mid-roll: "Rolling" beside its successor for the next 24 hours
        if row.name == "nightly-report" {
            let spec = KeySpec {
                name: row.name.clone(),
                note: row.note.clone(),
                scopes: row.scopes.clone(),
                expires_at: row.expires_at,
                expiry_days: None,
                rate_limit: row.rate_limit,
            };
            let (_, successor) = NewKey::generate(hasher, account, spec, Uuid::new_v4());
            api_keys::roll_for_account(conn, row.id, successor, api_keys::Grace::OneDay, &origin)
                .await?;
        }
    }
    Ok(())
}

/// A dry-run of the office's network with one address outside it (what enforcing would
/// refuse), and a rate limit of 600 a minute.
async fn bounds_for_production_bot(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    key: Uuid,
    origin: &Origin,
) -> anyhow::Result<()> {
    let nets = Networks::parse("203.0.113.0/24, 2001:db8:4f::/48").map_err(anyhow::Error::msg)?;
    let binding = Binding::new(NetworkMode::DryRun, nets).map_err(anyhow::Error::msg)?;
    api_keys::set_binding_for_account(conn, account, key, &binding, true, origin).await?;
    api_keys::set_rate_for_account(conn, account, key, Some(600), true, origin).await?;
    diesel::sql_query(
        "INSERT INTO key_client_ips (key_id, client_ip, first_seen, last_seen, requests, refused,
                                     outside, user_agent)
         VALUES ($1, '203.0.113.10', now() - interval '20 days', now() - interval '2 hours', 412, 0, 0,
                 'vending-firmware/2.1 (linux; arm64)'),
                ($1, '198.51.100.23', now() - interval '3 days', now() - interval '40 minutes', 7, 0, 7,
                 'python-requests/2.31')
         ON CONFLICT DO NOTHING",
    )
    .bind::<diesel::sql_types::Uuid, _>(key)
    .execute(conn)
    .await?;
    Ok(())
}
