//! One access-log line per request, in the same shape as the rest of the log (human or JSON,
//! see `telemetry`) and through the same background writer, but formatted here rather than by
//! tracing's formatter, and buffered per worker thread:
//! - The line has five fixed fields. Building it with `itoa` into the thread's buffer costs a
//!   fraction of tracing's generic field visitors, timestamp formatting and writer clone per
//!   event; the date and time to the second are formatted once a second per thread.
//! - Lines leave the thread in batches, as nginx's `access_log … buffer= flush=` does: when
//!   the buffer holds `FLUSH_BYTES`, and every `FLUSH_EVERY` from a timer on the worker, so a
//!   line waits at most that long and the log thread is woken once per batch, not per request.
//!   Lines of different workers may reach the file up to `FLUSH_EVERY` out of order; each
//!   carries its own time. A thread's last lines are written when it exits.
//!
//! What the client chose (method, path) is clipped, so a 100 KB method name cannot become a
//! 100 KB log line, and escaped, so a CR or LF cannot forge a line.

use std::cell::RefCell;
use std::io::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::Method;
use tracing_appender::non_blocking::NonBlocking;

/// Longest method or path written to the log.
const MAX_LOGGED: usize = 256;

/// A thread's buffer is handed to the writer once it holds this many bytes (about 100 lines)…
const FLUSH_BYTES: usize = 16 * 1024;

/// …and at this interval, whatever it holds.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Where access lines go: set once by `telemetry::init` when INFO is enabled for them.
static SINK: OnceLock<Sink> = OnceLock::new();

/// The log's writer and its format.
pub struct Sink {
    /// The non-blocking writer the tracing subscriber writes to.
    pub writer: NonBlocking,
    /// JSON lines (`APP_LOG_FORMAT=json`) rather than human ones.
    pub json: bool,
}

/// Sends access lines to `sink` from now on (later calls are ignored, like a second
/// subscriber).
pub fn install(sink: Sink) {
    let _ = SINK.set(sink);
}

/// Per-thread state: the writer's clone, the lines not yet handed over and the cached second.
struct Local {
    writer: NonBlocking,
    buf: Vec<u8>,
    second: u64,
    /// `2026-12-02T10:15:30` for `second`.
    stamp: [u8; 19],
}

impl Local {
    fn flush(&mut self) {
        if !self.buf.is_empty() {
            // The writer only fails once the log thread has stopped (at exit): nothing to do.
            let _ = self.writer.write_all(&self.buf);
            self.buf.clear();
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        self.flush();
    }
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// Hands the thread's buffered lines to the writer every `FLUSH_EVERY` (one task per worker,
/// started with its first line).
async fn flush_periodically() {
    let mut tick = actix_web::rt::time::interval(FLUSH_EVERY);
    loop {
        tick.tick().await;
        LOCAL.with_borrow_mut(|local| {
            if let Some(local) = local {
                local.flush();
            }
        });
    }
}

/// `s`, cut to at most `MAX_LOGGED` bytes on a character boundary.
pub fn clip(s: &str) -> &str {
    if s.len() <= MAX_LOGGED {
        return s;
    }
    let mut end = MAX_LOGGED;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Writes the line for a finished request, if access lines are enabled. Called on an actix
/// worker (the middleware), whose task set also runs the flush timer.
pub fn line(id: &str, method: &Method, path: &str, status: u16, took: Duration) {
    let Some(sink) = SINK.get() else { return };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    LOCAL.with_borrow_mut(|local| {
        let local = local.get_or_insert_with(|| {
            actix_web::rt::spawn(flush_periodically());
            Local {
                writer: sink.writer.clone(),
                buf: Vec::with_capacity(FLUSH_BYTES + 1024),
                second: u64::MAX,
                stamp: [b'0'; 19],
            }
        });
        if local.second != now.as_secs() {
            local.second = now.as_secs();
            local.stamp = stamp(now.as_secs());
        }
        format_line(
            &mut local.buf,
            sink.json,
            Fields {
                stamp: &local.stamp,
                micros: now.subsec_micros(),
                id,
                method: clip(method.as_str()),
                path: clip(path),
                status,
                took,
            },
        );
        if local.buf.len() >= FLUSH_BYTES {
            local.flush();
        }
    });
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) of a Unix second.
fn stamp(secs: u64) -> [u8; 19] {
    let mut out = [b'0'; 19];
    let t = chrono::DateTime::from_timestamp(secs as i64, 0).unwrap_or_default();
    let text = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    if text.len() == out.len() {
        out.copy_from_slice(text.as_bytes());
    }
    out
}

/// One line's values.
struct Fields<'a> {
    stamp: &'a [u8; 19],
    micros: u32,
    id: &'a str,
    method: &'a str,
    path: &'a str,
    status: u16,
    took: Duration,
}

/// Appends the line as tracing's formatters would write it: `…Z  INFO request request_id=… method=…
/// path="…" status=… ms=…` or the flattened JSON object with the same fields.
fn format_line(buf: &mut Vec<u8>, json: bool, f: Fields<'_>) {
    let mut num = itoa::Buffer::new();
    let frac = padded::<6>(u64::from(f.micros));
    let took = f.took.as_micros().min(u64::MAX as u128) as u64;
    if json {
        buf.extend_from_slice(b"{\"timestamp\":\"");
        buf.extend_from_slice(f.stamp);
        buf.push(b'.');
        buf.extend_from_slice(&frac);
        buf.extend_from_slice(b"Z\",\"level\":\"INFO\",\"message\":\"request\",\"request_id\":");
        json_string(buf, f.id);
        buf.extend_from_slice(b",\"method\":");
        json_string(buf, f.method);
        buf.extend_from_slice(b",\"path\":");
        json_string(buf, f.path);
        buf.extend_from_slice(b",\"status\":");
        buf.extend_from_slice(num.format(f.status).as_bytes());
        buf.extend_from_slice(b",\"ms\":");
        millis(buf, took);
        buf.extend_from_slice(b"}\n");
    } else {
        buf.extend_from_slice(f.stamp);
        buf.push(b'.');
        buf.extend_from_slice(&frac);
        buf.extend_from_slice(b"Z  INFO request request_id=");
        buf.extend_from_slice(f.id.as_bytes());
        buf.extend_from_slice(b" method=");
        debug_or_plain(buf, f.method, false);
        buf.extend_from_slice(b" path=");
        debug_or_plain(buf, f.path, true);
        buf.extend_from_slice(b" status=");
        buf.extend_from_slice(num.format(f.status).as_bytes());
        buf.extend_from_slice(b" ms=");
        millis(buf, took);
        buf.push(b'\n');
    }
}

/// Printable ASCII with nothing to escape: written as it is.
fn is_plain(s: &str) -> bool {
    s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

/// `s` quoted the way `{:?}` would (`quote`), or bare when it is a plain token; anything
/// unusual goes through `{:?}`, which escapes control characters.
fn debug_or_plain(buf: &mut Vec<u8>, s: &str, quote: bool) {
    if is_plain(s) && (quote || !s.contains(' ')) {
        if quote {
            buf.push(b'"');
        }
        buf.extend_from_slice(s.as_bytes());
        if quote {
            buf.push(b'"');
        }
    } else {
        let _ = write!(buf, "{s:?}");
    }
}

/// `s` as a JSON string.
fn json_string(buf: &mut Vec<u8>, s: &str) {
    if is_plain(s) {
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
    } else {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *buf, s);
    }
}

/// Microseconds as milliseconds with three decimals (`1.234`).
fn millis(buf: &mut Vec<u8>, micros: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(micros / 1000).as_bytes());
    buf.push(b'.');
    buf.extend_from_slice(&padded::<3>(micros % 1000));
}

/// The last `N` decimal digits of `n`, zero-padded (`padded::<6>(42)` is `000042`).
fn padded<const N: usize>(mut n: u64) -> [u8; N] {
    let mut out = [b'0'; N];
    for d in out.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(stamp: &'a [u8; 19], method: &'a str, path: &'a str) -> Fields<'a> {
        Fields {
            stamp,
            micros: 42,
            id: "Ab3dEf7hIj9k",
            method,
            path,
            status: 401,
            took: Duration::from_micros(1_234),
        }
    }

    #[test]
    fn long_client_values_are_clipped_on_a_char_boundary() {
        assert_eq!(clip("GET"), "GET");
        assert_eq!(clip(&"A".repeat(100_000)).len(), MAX_LOGGED);
        let s = "é".repeat(200);
        assert!(clip(&s).len() <= MAX_LOGGED);
        assert!(clip(&s).chars().all(|c| c == 'é'));
    }

    #[test]
    fn the_human_line_has_tracings_shape() {
        let stamp = stamp(1_796_256_000);
        let mut buf = Vec::new();
        format_line(&mut buf, false, fields(&stamp, "GET", "/api/v1/me"));
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "2026-12-03T00:00:00.000042Z  INFO request request_id=Ab3dEf7hIj9k method=GET \
             path=\"/api/v1/me\" status=401 ms=1.234\n"
        );
    }

    #[test]
    fn the_json_line_is_one_json_object() {
        let stamp = stamp(1_796_256_000);
        let mut buf = Vec::new();
        format_line(&mut buf, true, fields(&stamp, "GET", "/a\"b\nc"));
        assert_eq!(buf.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["timestamp"], "2026-12-03T00:00:00.000042Z");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "request");
        assert_eq!(v["path"], "/a\"b\nc");
        assert_eq!(v["status"], 401);
        assert_eq!(v["ms"], 1.234);
    }

    #[test]
    fn control_characters_cannot_forge_a_human_line() {
        let stamp = stamp(0);
        let mut buf = Vec::new();
        format_line(
            &mut buf,
            false,
            fields(&stamp, "GE T", "/x\r\nINJECTED \"line\""),
        );
        let line = String::from_utf8(buf).unwrap();
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert!(line.contains(r#"path="/x\r\nINJECTED \"line\"""#), "{line}");
        assert!(line.contains(r#"method="GE T""#), "{line}");
    }
}
