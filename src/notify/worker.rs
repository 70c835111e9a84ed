//! The delivery worker: one lane per channel (e-mail, webhooks), so a slow SMTP server and a
//! hanging webhook receiver never hold each other up. A lane keeps up to `CONCURRENT` sends in
//! flight and claims more as each ends, fairly (`outbox::claim`: one row per account, none of
//! an account it is already sending to), so one account's flood or dead receiver costs at most
//! one slot, for at most one send's timeout, while every other account's notices go out
//! beside it. A failure is retried after `backoff` (exponential, jittered) until
//! `APP_NOTIFY_MAX_ATTEMPTS` attempts were made; then the row is marked failed and kept.

use std::collections::HashMap;
use std::sync::Arc;

use rand::Rng;
use tokio::sync::watch;
use tokio::task::{Id, JoinSet};
use uuid::Uuid;

use super::mail::{MailError, Mailer};
use super::webhook::{self, HookError};
use crate::config::NotifySettings;
use crate::db::DbPool;
use crate::db::notices::outbox::{self, Attempt, Claimed};
use crate::db::notices::prefs;
use crate::domain::notice::{Channel, backoff};
use crate::metrics::Metrics;

/// Sends in flight per lane (and instance): each takes a pooled connection briefly (never while
/// it sends), so a busy outbox cannot starve the pages of connections.
pub const CONCURRENT: usize = 4;

/// A claim lasts this long: a sender that died mid-way gives its rows back after it. Longer
/// than any send can take (SMTP 15 s, webhooks 10 s).
pub const LEASE_SECS: f64 = 120.0;

/// What the worker needs.
pub struct Ctx {
    /// Database.
    pub pool: DbPool,
    /// SMTP.
    pub mailer: Mailer,
    /// Retry schedule, webhook policy.
    pub settings: NotifySettings,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

/// Delivers `channel`'s due rows until `stopped` turns true, then waits for the sends in flight.
pub async fn lane(ctx: Arc<Ctx>, channel: Channel, mut stopped: watch::Receiver<bool>) {
    let mut sending: JoinSet<()> = JoinSet::new();
    // the account of each send in flight (at most CONCURRENT entries)
    let mut busy: HashMap<Id, Uuid> = HashMap::new();
    let mut closed = false; // the Notifier is gone without a stop: stop as well
    loop {
        let stopping = closed || *stopped.borrow();
        if !stopping && sending.len() < CONCURRENT {
            let accounts: Vec<Uuid> = busy.values().copied().collect();
            let free = (CONCURRENT - sending.len()) as i64;
            for c in claim(&ctx, channel, &accounts, free).await {
                let account = c.account_id;
                let ctx = ctx.clone();
                let handle = sending.spawn(async move { deliver(&ctx, c).await });
                busy.insert(handle.id(), account);
            }
        }
        if stopping && sending.is_empty() {
            return;
        }
        tokio::select! {
            Some(done) = sending.join_next_with_id(), if !sending.is_empty() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => e.id(),
                };
                busy.remove(&id);
            }
            _ = tokio::time::sleep(ctx.settings.poll), if !stopping => {}
            changed = stopped.changed(), if !stopping => closed = changed.is_err(),
        }
    }
}

async fn claim(ctx: &Ctx, channel: Channel, busy: &[Uuid], free: i64) -> Vec<Claimed> {
    match ctx.pool.get().await {
        Ok(mut conn) => match outbox::claim(&mut conn, channel, busy, free, LEASE_SECS).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "notice worker: claiming failed; will retry");
                Vec::new()
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "notice worker: database unavailable; will retry");
            Vec::new()
        }
    }
}

async fn deliver(ctx: &Ctx, c: Claimed) {
    let attempt = attempt(ctx, &c).await;
    let result = match &attempt {
        Attempt::Delivered => "delivered",
        Attempt::Retry(..) => "retry",
        Attempt::Failed(_) => "failed",
        Attempt::Skipped(_) => "skipped",
    };
    ctx.metrics.notice_delivery(c.channel, result);
    match &attempt {
        Attempt::Delivered => {
            tracing::info!(notice = %c.notice_id, channel = c.channel.as_str(), attempt = c.attempts, "notice delivered")
        }
        Attempt::Retry(_, e) | Attempt::Failed(e) | Attempt::Skipped(e) => {
            tracing::warn!(notice = %c.notice_id, channel = c.channel.as_str(), attempt = c.attempts, outcome = result, error = %e, "notice not delivered")
        }
    }
    // If this write fails the lease runs out and the row is tried again: at least once.
    match ctx.pool.get().await {
        Ok(mut conn) => {
            if let Err(e) = outbox::finish(&mut conn, c.id, &attempt).await {
                tracing::warn!(error = %e, notice = %c.notice_id, "recording a delivery failed");
            }
        }
        Err(e) => tracing::warn!(error = %e, notice = %c.notice_id, "recording a delivery failed"),
    }
}

async fn attempt(ctx: &Ctx, c: &Claimed) -> Attempt {
    let failed = |transient: bool, e: String| {
        if transient && (c.attempts as u32) < ctx.settings.max_attempts {
            let jitter = rand::rng().random::<f64>();
            Attempt::Retry(
                backoff(ctx.settings.backoff, c.attempts.max(1) as u32, jitter).as_secs_f64(),
                e,
            )
        } else {
            Attempt::Failed(e)
        }
    };
    match c.channel {
        Channel::Email => {
            if !ctx.mailer.enabled() {
                return Attempt::Skipped("e-mail is not configured (APP_SMTP_URL)".into());
            }
            match ctx.mailer.send(c).await {
                Ok(()) => Attempt::Delivered,
                Err(MailError::Transient(e)) => failed(true, e),
                Err(MailError::Permanent(e)) => failed(false, e),
            }
        }
        Channel::Webhook => {
            let hook = match ctx.pool.get().await {
                Ok(mut conn) => prefs::find_webhook_for_account(&mut conn, c.account_id).await,
                Err(e) => return failed(true, format!("database: {e}")),
            };
            let hook = match hook {
                Ok(Some(h)) => h,
                Ok(None) => return Attempt::Skipped("no webhook is set up any more".into()),
                Err(e) => return failed(true, format!("database: {e}")),
            };
            match webhook::send(&hook, c, ctx.settings.webhook_allow_private).await {
                Ok(()) => Attempt::Delivered,
                Err(HookError::Transient(e)) => failed(true, e),
                Err(HookError::Permanent(e)) => failed(false, e),
            }
        }
        Channel::InApp => Attempt::Failed("in-app notices are not delivered".into()),
    }
}
