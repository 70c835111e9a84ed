//! Notifications leave keydesk here. `Notifier` runs in every instance (unless
//! `APP_NOTIFY_WORKER=off`): every `APP_NOTIFY_POLL_MS` it delivers due rows of the outbox
//! (`worker`), and about once a minute it runs the detectors — the expiry digest (`digest`) and
//! the usage alert rules — and refreshes the queue-depth gauge. Other events (a new client
//! address, wallet unlinked, API keys disabled, an exposed key revoked) are written by the
//! transaction that causes them (`db::notices::enqueue`). `stop` ends the loop after the pass in
//! progress, so no send is cut off half-way.

pub mod admin;
pub mod digest;
pub mod mail;
pub mod webhook;
pub mod worker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Settings;
use crate::db::DbPool;
use crate::db::notices::{alerts, outbox};
use crate::domain::notice::Channel;
use crate::metrics::Metrics;

/// How often the detectors run (at most; never more often than the worker polls).
pub const DETECT_EVERY: Duration = Duration::from_secs(60);

/// The running worker; `stop` ends it.
pub struct Notifier {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Notifier {
    /// Starts the worker on the current runtime (or nothing, when `APP_NOTIFY_WORKER=off`).
    pub fn start(pool: DbPool, settings: &Settings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let (stop, mut stopped) = watch::channel(false);
        let mailer = mail::Mailer::new(&settings.notify, settings.public_url.origin())?;
        if !settings.notify.worker {
            return Ok(Self { stop, task: None });
        }
        let ctx = Arc::new(worker::Ctx {
            pool,
            mailer,
            settings: settings.notify.clone(),
            metrics,
        });
        let task = tokio::spawn(async move {
            let mut last_detect: Option<Instant> = None;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(ctx.settings.poll) => {},
                    _ = stopped.changed() => break,
                }
                while worker::run_batch(&ctx).await as i64 >= worker::BATCH {
                    if *stopped.borrow() {
                        break;
                    }
                }
                if last_detect.is_none_or(|t| t.elapsed() >= DETECT_EVERY) {
                    last_detect = Some(Instant::now());
                    detect(&ctx).await;
                }
                if *stopped.borrow() {
                    break;
                }
            }
        });
        Ok(Self {
            stop,
            task: Some(task),
        })
    }

    /// Stops after the pass in progress (waiting at most 30 s for it).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
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
