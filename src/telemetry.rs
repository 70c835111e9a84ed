//! Logging: human-readable lines by default, JSON with `APP_LOG_FORMAT=json`. `RUST_LOG`
//! overrides the level (default `info`). Lines are written by a background thread
//! (tracing-appender's non-blocking writer), so a request never waits on the log's I/O: with
//! one access-log line per request, writing inline cost about a third of the throughput of the
//! cheapest requests.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::middleware::access_log;

/// Installs the global subscriber. Keep the returned guard alive until exit: dropping it
/// flushes the lines still queued. Later calls install nothing and return None.
pub fn init(format: LogFormat) -> Option<WorkerGuard> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn,actix_session=warn"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        // Never drop lines: when the queue is full, the request waits rather than lose its log.
        .lossy(false)
        .buffered_lines_limit(64 * 1024)
        // Buffered: the writer thread flushes whenever its queue runs empty, so under load many
        // lines leave in one write instead of one system call each.
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        ));
    // Colour codes only for a person at a terminal: a log file or collector gets plain text (and
    // the access line costs less to format).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(writer.clone());
    let installed = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    installed.ok()?;
    // The access lines obey the same filter (`RUST_LOG=warn` turns them off), decided once: the
    // filter's directives do not change while the process runs.
    if tracing::enabled!(target: "keydesk::middleware::access_log", tracing::Level::INFO) {
        access_log::install(access_log::Sink {
            writer,
            json: matches!(format, LogFormat::Json),
        });
    }
    Some(guard)
}
