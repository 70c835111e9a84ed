//! One access-log line per request. What the client chose (method, path) is clipped, so a
//! 100 KB method name cannot become a 100 KB log line.

use std::time::Instant;

use actix_web::http::Method;

/// Longest method or path written to the log.
const MAX_LOGGED: usize = 256;

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

/// Writes the line (the writer is non-blocking: see `telemetry`).
pub fn line(id: &str, method: &Method, path: &str, status: u16, started: Instant) {
    tracing::info!(
        request_id = %id,
        method = %clip(method.as_str()),
        path = ?clip(path),
        status,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_client_values_are_clipped_on_a_char_boundary() {
        assert_eq!(clip("GET"), "GET");
        assert_eq!(clip(&"A".repeat(100_000)).len(), MAX_LOGGED);
        let s = "é".repeat(200);
        assert!(clip(&s).len() <= MAX_LOGGED);
        assert!(clip(&s).chars().all(|c| c == 'é'));
    }
}
