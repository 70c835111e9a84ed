//! Operator subcommands for what has no page: users, roles, the API-keys flag, platform
//! wallets, keys for scripts, and the demo data set.

use anyhow::{Context, bail};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::auth::password::{generate_password, hash_blocking};
use crate::config::{Secret, Settings};
use crate::db::api_keys::{self, CreateOutcome, KeySpec, NewKey, Sighting};
use crate::db::audit::Origin;
use crate::db::notices::NewNotice;
use crate::db::{users, wallets};
use crate::domain::exposure::{MAX_URL_CHARS, clip};
use crate::domain::{
    AuditAction, Expiration, KeyHasher, KeyName, KeyNote, PlainKey, RevokeReason, Role, Scope,
    WalletKind,
};

pub(crate) async fn connect(settings: &Settings) -> anyhow::Result<AsyncPgConnection> {
    AsyncPgConnection::establish(settings.database_url.expose())
        .await
        .context("connecting to APP_DATABASE_URL")
}

async fn user_by_email(conn: &mut AsyncPgConnection, email: &str) -> anyhow::Result<users::User> {
    users::find_by_email(conn, email)
        .await?
        .with_context(|| format!("no account with e-mail {email:?}"))
}

/// Creates an account and prints its generated password once.
pub async fn create_user(settings: &Settings, email: &str, role: Role) -> anyhow::Result<()> {
    let mut conn = connect(settings).await?;
    let email = email.trim();
    if !email.contains('@') || email.len() > 254 {
        bail!("{email:?} is not an e-mail address");
    }
    if users::find_by_email(&mut conn, email).await?.is_some() {
        bail!("an account with e-mail {email:?} already exists");
    }
    let password = generate_password();
    let hash = hash_blocking(&Secret::new(password.clone()))?;
    let user = users::insert(&mut conn, email, &hash, role).await?;
    println!(
        "created {} ({}) role={} password={password}",
        user.email,
        user.id,
        role.as_str()
    );
    Ok(())
}

/// Sets an account's role.
pub async fn set_role(settings: &Settings, email: &str, role: Role) -> anyhow::Result<()> {
    let mut conn = connect(settings).await?;
    let user = user_by_email(&mut conn, email).await?;
    users::set_role(&mut conn, user.id, role).await?;
    println!("{} is now {}", user.email, role.as_str());
    Ok(())
}

/// Turns the API-keys flag on or off (audited as an eligibility change). Turning it off writes
/// a security notice in the same transaction (the account's keys are paused).
pub async fn set_api_keys(settings: &Settings, email: &str, on: bool) -> anyhow::Result<()> {
    let mut conn = connect(settings).await?;
    let user = user_by_email(&mut conn, email).await?;
    let was_on = user.api_keys_enabled;
    conn.transaction(async |conn| {
        users::set_api_keys_enabled(conn, user.id, on).await?;
        crate::db::audit::record(
            conn,
            crate::db::audit::NewEvent {
                account_id: Some(user.id),
                actor_id: None,
                action: if on {
                    AuditAction::ApiKeysEnabled
                } else {
                    AuditAction::ApiKeysDisabled
                },
                key_id: None,
                detail: serde_json::json!({ "by": "operator" }),
            },
            &Origin::default(),
        )
        .await?;
        if was_on && !on {
            crate::db::notices::enqueue(conn, NewNotice::api_keys_disabled(user.id)).await?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .await?;
    println!(
        "API keys {} for {}",
        if on { "enabled" } else { "disabled" },
        user.email
    );
    Ok(())
}

/// Adds a wallet of a given kind (platform wallets, or an external one an operator verified).
pub async fn add_wallet(
    settings: &Settings,
    email: &str,
    address: &str,
    kind: WalletKind,
) -> anyhow::Result<()> {
    let mut conn = connect(settings).await?;
    let user = user_by_email(&mut conn, email).await?;
    let address = address.trim();
    if address.len() < 32
        || address.len() > 44
        || !address
            .chars()
            .all(|c| c.is_ascii_alphanumeric() && !"0OIl".contains(c))
    {
        bail!("{address:?} is not a base58 Solana address");
    }
    wallets::insert_for_account(&mut conn, user.id, address, kind)
        .await
        .context("adding the wallet (is the address already linked?)")?;
    println!("added {} wallet {address} to {}", kind.as_str(), user.email);
    Ok(())
}

/// The most read from stdin for a secret (a key is 42 characters; a line is plenty).
const MAX_STDIN_SECRET: u64 = 4096;

/// Revokes the key with this secret as found exposed (reported by another route than GitHub's
/// scanning), with `url` kept as where. `-` reads the secret from stdin, so it never appears
/// in `ps` or in shell history. Nothing of the secret is printed.
pub async fn revoke_exposed(
    settings: &Settings,
    secret: &str,
    url: Option<&str>,
) -> anyhow::Result<()> {
    use std::io::Read;
    let secret = if secret == "-" {
        let mut line = String::new();
        std::io::stdin()
            .take(MAX_STDIN_SECRET)
            .read_to_string(&mut line)
            .context("reading the secret from stdin")?;
        line
    } else {
        secret.to_owned()
    };
    let key = PlainKey::parse(secret.trim())
        .map_err(|_| anyhow::anyhow!("that is not a phy_ key (length, characters or checksum)"))?;
    let hasher = KeyHasher::new(settings.key_pepper.expose());
    let sighting = Sighting {
        hash: hasher.hash(&key),
        url: url
            .map(|u| clip(u, MAX_URL_CHARS))
            .filter(|u| !u.is_empty()),
        source: Some("operator".to_owned()),
    };
    let mut conn = connect(settings).await?;
    let report = api_keys::revoke_exposed(
        &mut conn,
        &[sighting],
        RevokeReason::Exposed,
        "operator",
        &Origin::default(),
    )
    .await?;
    match report.revoked.first() {
        Some(k) => println!(
            "revoked key {:?} ({}) of account {}: found exposed",
            k.name, k.prefix, k.account_id
        ),
        None if !report.matched.is_empty() => {
            println!("that key was already revoked; nothing changed")
        }
        None => bail!("no key has this secret (not one of ours, or another APP_KEY_PEPPER)"),
    }
    Ok(())
}

/// Creates a key for an account and prints the secret once (for scripts and benchmarks).
pub async fn create_key(settings: &Settings, email: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = connect(settings).await?;
    let user = user_by_email(&mut conn, email).await?;
    let name = KeyName::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let hasher = KeyHasher::new(settings.key_pepper.expose());
    let spec = KeySpec::new(
        &name,
        &KeyNote::default(),
        Scope::ALL.to_vec(),
        Expiration::Never,
        None,
    );
    let (key, row) = NewKey::generate(&hasher, user.id, spec, Uuid::new_v4());
    let outcome = api_keys::create_for_account(&mut conn, row, &Origin::default()).await?;
    match outcome {
        CreateOutcome::Created(_) => {
            println!("{}", key.expose());
            Ok(())
        }
        CreateOutcome::NameTaken => {
            bail!("the account already has a key named {:?}", name.as_str())
        }
        CreateOutcome::NotEligible(e) => {
            bail!("the account can't create keys: {}", e.codes().join(", "))
        }
        CreateOutcome::AlreadyCreated(_) => bail!("request id collision; try again"),
    }
}
