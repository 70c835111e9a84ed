//! Operator commands: `keydesk notices` lists pending and failed deliveries (`--all` adds
//! delivered and skipped ones); `keydesk notices digest` runs the expiry digest now.

use anyhow::Context;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::config::Settings;
use crate::db::notices::outbox;

async fn connect(settings: &Settings) -> anyhow::Result<AsyncPgConnection> {
    AsyncPgConnection::establish(settings.database_url.expose())
        .await
        .context("connecting to APP_DATABASE_URL")
}

/// Prints deliveries (pending and failed; every status with `all`), oldest first.
pub async fn list(settings: &Settings, all: bool, limit: i64) -> anyhow::Result<()> {
    let mut conn = connect(settings).await?;
    let statuses: &[&str] = if all {
        &["pending", "failed", "delivered", "skipped"]
    } else {
        &["pending", "failed"]
    };
    let rows = outbox::list(&mut conn, statuses, limit.clamp(1, 10_000)).await?;
    println!(
        "{:<8} {:<36} {:<20} {:<8} {:<9} {:>3} {:<20} {:<28} error",
        "id", "notice", "kind", "channel", "status", "try", "next attempt", "account"
    );
    for r in &rows {
        println!(
            "{:<8} {:<36} {:<20} {:<8} {:<9} {:>3} {:<20} {:<28} {}",
            r.id,
            r.notice_id,
            r.kind,
            r.channel,
            r.status,
            r.attempts,
            r.next_attempt_at.format("%Y-%m-%d %H:%M:%S"),
            r.email,
            r.last_error.as_deref().unwrap_or("")
        );
    }
    let depth = outbox::queue_depth(&mut conn).await?;
    let pending: i64 = depth.iter().map(|(_, n)| n).sum();
    println!("{} shown; {pending} pending in all", rows.len());
    Ok(())
}

/// Runs the expiry digest detector once and says how many digests it wrote.
pub async fn digest(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = connect(settings).await?;
    let n = super::digest::run_once(&mut conn, settings.notify.digest_interval).await?;
    println!("expiry digests written: {n} (the delivery worker of a running instance sends them)");
    Ok(())
}
