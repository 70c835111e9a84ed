//! Notifications leave keydesk here. `Notifier` runs in every instance (unless
//! `APP_NOTIFY_WORKER=off`) as three tasks: an e-mail lane and a webhook lane that deliver due
//! rows of the outbox (`worker`: fair across accounts, neither channel waiting for the other),
//! and the detectors on their own schedule (`APP_NOTIFY_DETECT_MS`): the expiry digest
//! (`digest`), the usage alert rules, and the queue-depth gauge. Other events (a new client
//! address, wallet unlinked, API keys disabled, an exposed key revoked) are written by the
//! transaction that causes them (`db::notices::enqueue`). `stop` ends the tasks after the sends
//! in progress, so no send is cut off half-way.

pub mod admin;
pub mod digest;
pub mod mail;
pub mod webhook;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Settings;
use crate::db::DbPool;
use crate::db::notices::{alerts, outbox};
use crate::domain::notice::Channel;
use crate::metrics::Metrics;

/// The running worker; `stop` ends it.
pub struct Notifier {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Notifier {
    /// Starts the worker on the current runtime (or nothing, when `APP_NOTIFY_WORKER=off`).
    pub fn start(pool: DbPool, settings: &Settings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let (stop, stopped) = watch::channel(false);
        let mailer = mail::Mailer::new(&settings.notify, settings.public_url.origin())?;
        if !settings.notify.worker {
            return Ok(Self {
                stop,
                tasks: Vec::new(),
            });
        }
        let ctx = Arc::new(worker::Ctx {
            pool,
            mailer,
            settings: settings.notify.clone(),
            metrics,
        });
        let mut tasks: Vec<JoinHandle<()>> = [Channel::Email, Channel::Webhook]
            .into_iter()
            .map(|c| tokio::spawn(worker::lane(ctx.clone(), c, stopped.clone())))
            .collect();
        tasks.push(tokio::spawn(detectors(ctx, stopped)));
        Ok(Self { stop, tasks })
    }

    /// Stops after the sends in progress (waiting at most 30 s for them).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks.drain(..));
        let _ = tokio::time::timeout(Duration::from_secs(30), all).await;
    }
}

/// Runs the detectors every `APP_NOTIFY_DETECT_MS` (the first time one interval after start,
/// so an instance that restarts often does not run them more often) until stopped.
async fn detectors(ctx: Arc<worker::Ctx>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(ctx.settings.detect_every) => {},
            _ = stopped.changed() => return,
        }
        if *stopped.borrow() {
            return;
        }
        detect(&ctx).await;
    }
}

async fn detect(ctx: &worker::Ctx) {
    let Ok(mut conn) = ctx.pool.get().await else {
        return; // database unavailable: next time
    };
    if let Err(e) = digest::run_once(&mut conn, ctx.settings.digest_interval).await {
        tracing::warn!(error = %e, "expiry digest failed; will retry");
    }
    if let Err(e) = alerts::detect(&mut conn).await {
        tracing::warn!(error = %e, "usage alerts failed; will retry");
    }
    match outbox::queue_depth(&mut conn).await {
        Ok(depth) => {
            for channel in [Channel::Email, Channel::Webhook] {
                let n = depth
                    .iter()
                    .find(|(c, _)| *c == channel)
                    .map_or(0, |(_, n)| *n);
                ctx.metrics.notice_queue(channel, n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "reading the notice queue depth failed"),
    }
}
