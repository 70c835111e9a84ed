//! The keydesk binary: `serve` and the operator subcommands. See README.md.

use clap::{Parser, Subcommand};
use keydesk::config::Settings;
use keydesk::domain::{Role, WalletKind};
use keydesk::{admin, db, startup::Application, telemetry};

/// mimalloc instead of the system allocator: every request allocates (headers, futures, the
/// response), and glibc's malloc/free were about a tenth of the server's CPU time on the
/// cheapest requests (perf, bench/RESULTS.md). Only the binary: tests keep the default.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "keydesk",
    version,
    about = "Settings → API keys, and the key authority"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations, then serve HTTP on APP_LISTEN.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// Turn API keys on or off for an account.
    #[command(subcommand)]
    ApiKeys(FlagCmd),
    /// Add a wallet to an account.
    Wallet {
        /// Account e-mail.
        email: String,
        /// base58 address.
        address: String,
        /// external, embedded or custodial.
        #[arg(long, default_value = "custodial")]
        kind: String,
    },
    /// Create a key for an account and print its secret once (`key EMAIL NAME`), or revoke an
    /// exposed one (`key revoke-exposed -`).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Key {
        #[command(subcommand)]
        action: Option<KeyCmd>,
        /// Account e-mail.
        #[arg(required = true)]
        email: Option<String>,
        /// Key name.
        #[arg(required = true)]
        name: Option<String>,
    },
    /// Demo data.
    #[command(subcommand)]
    Demo(DemoCmd),
    /// Notification deliveries: lists pending and failed ones; `digest` runs the expiry digest now.
    Notices {
        /// What to do (default: list).
        #[command(subcommand)]
        command: Option<NoticesCmd>,
        /// List every status, delivered and skipped too.
        #[arg(long)]
        all: bool,
        /// Rows listed at most.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Subcommand)]
enum NoticesCmd {
    /// List deliveries (pending and failed; --all for every status).
    List,
    /// Run the expiry digest detector now (one digest per account per interval).
    Digest,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create an account; prints a generated password once.
    Create {
        /// The login e-mail.
        email: String,
        /// member or support.
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// Change an account's role.
    SetRole {
        /// The login e-mail.
        email: String,
        /// member or support.
        role: String,
    },
}

#[derive(Subcommand)]
enum FlagCmd {
    /// Allow the account to create keys (if it also has an external wallet).
    Enable {
        /// The login e-mail.
        email: String,
    },
    /// Stop the account from creating keys; its keys are paused.
    Disable {
        /// The login e-mail.
        email: String,
    },
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Revoke a key whose secret was reported exposed by another route than GitHub (an
    /// e-mail, a bug report): reason `exposed`, audited, shown to its owner.
    RevokeExposed {
        /// The secret, or `-` to read it from stdin (keeps it out of `ps` and shell history).
        secret: String,
        /// Where it was found (kept and shown as text).
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Subcommand)]
enum DemoCmd {
    /// Create or reset the demo accounts (every eligibility state and a support user).
    Seed,
}

fn parse_role(s: &str) -> anyhow::Result<Role> {
    Role::parse(s).ok_or_else(|| anyhow::anyhow!("role must be member or support"))
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("keydesk: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::from_env()?;
    let _log_guard = telemetry::init(settings.log_format);
    match cli.command {
        Command::Serve => {
            match db::run_migrations(settings.database_url.expose()).await {
                Ok(applied) if !applied.is_empty() => {
                    tracing::info!(?applied, "migrations applied")
                }
                Ok(_) => {}
                Err(e) => {
                    // Start anyway: pages answer 503 until the database is back; keep trying.
                    tracing::warn!(error = %e, "database not ready at start-up; serving 503 until it is");
                    let url = settings.database_url.clone();
                    tokio::spawn(async move {
                        loop {
                            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                            if db::run_migrations(url.expose()).await.is_ok() {
                                tracing::info!("database reachable; migrations up to date");
                                break;
                            }
                        }
                    });
                }
            }
            keydesk::auth::password::warm_up();
            let app = Application::build(settings.clone()).await?;
            tracing::info!(listen = %settings.listen, workers = settings.workers, "keydesk serving");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let applied = db::run_migrations(settings.database_url.expose()).await?;
            println!("migrations applied: {}", applied.len());
        }
        Command::User(UserCmd::Create { email, role }) => {
            admin::create_user(&settings, &email, parse_role(&role)?).await?
        }
        Command::User(UserCmd::SetRole { email, role }) => {
            admin::set_role(&settings, &email, parse_role(&role)?).await?
        }
        Command::ApiKeys(FlagCmd::Enable { email }) => {
            admin::set_api_keys(&settings, &email, true).await?
        }
        Command::ApiKeys(FlagCmd::Disable { email }) => {
            admin::set_api_keys(&settings, &email, false).await?
        }
        Command::Wallet {
            email,
            address,
            kind,
        } => {
            let kind = WalletKind::parse(&kind)
                .ok_or_else(|| anyhow::anyhow!("kind must be external, embedded or custodial"))?;
            admin::add_wallet(&settings, &email, &address, kind).await?
        }
        Command::Key {
            action: Some(KeyCmd::RevokeExposed { secret, url }),
            ..
        } => admin::revoke_exposed(&settings, &secret, url.as_deref()).await?,
        Command::Key {
            action: None,
            email: Some(email),
            name: Some(name),
        } => admin::create_key(&settings, &email, &name).await?,
        Command::Key { .. } => {
            anyhow::bail!("usage: keydesk key EMAIL NAME, or keydesk key revoke-exposed SECRET|-")
        }
        Command::Demo(DemoCmd::Seed) => keydesk::demo::seed(&settings).await?,
        Command::Notices {
            command: None | Some(NoticesCmd::List),
            all,
            limit,
        } => keydesk::notify::admin::list(&settings, all, limit).await?,
        Command::Notices {
            command: Some(NoticesCmd::Digest),
            ..
        } => keydesk::notify::admin::digest(&settings).await?,
    }
    Ok(())
}
