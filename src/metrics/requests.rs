//! The per-request metrics: the fixed label sets and each worker thread's resolved handles.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use actix_web::http::Method;
use prometheus::{Histogram, IntCounter};

use super::Metrics;

/// One worker thread's handles on the request metrics, by route pattern. Bounded: routes are
/// the application's patterns, methods and statuses the fixed label sets below.
#[derive(Default)]
struct Resolved {
    /// The id of the `Metrics` they belong to (a test process runs several applications; an
    /// id, unlike an address, is never reused by a later registry).
    owner: u64,
    routes: HashMap<String, PerRoute>,
}

/// One route's latency histogram and its counters by method and status label.
struct PerRoute {
    seconds: Histogram,
    counts: HashMap<(&'static str, &'static str), IntCounter>,
}

thread_local! {
    static RESOLVED: RefCell<Resolved> = RefCell::new(Resolved::default());
}

/// The method label: a standard method, or `other` (actix accepts any token as a method).
pub fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// The status label: one of the codes keydesk answers with, or `other`.
pub fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        301 => "301",
        303 => "303",
        304 => "304",
        307 => "307",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        409 => "409",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        431 => "431",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        _ => "other",
    }
}

impl Metrics {
    /// Counts a finished request by route pattern (never the raw path: ids would explode the
    /// label set), method and status, and observes its latency. The metrics of a label set are
    /// looked up in the registry once per worker thread, then kept (`Resolved`): the registry's
    /// lookup hashes the labels and takes a lock shared by every worker.
    pub fn request(&self, route: Option<&str>, method: &Method, status: u16, took: Duration) {
        let route = route.unwrap_or("unmatched");
        let (method, status) = (method_label(method), status_label(status));
        RESOLVED.with_borrow_mut(|r| {
            if r.owner != self.id {
                *r = Resolved {
                    owner: self.id,
                    ..Resolved::default()
                };
            }
            let per_route = match r.routes.get_mut(route) {
                Some(p) => p,
                None => r
                    .routes
                    .entry(route.to_owned())
                    .or_insert_with(|| PerRoute {
                        seconds: self.request_seconds.with_label_values(&[route]),
                        counts: HashMap::new(),
                    }),
            };
            per_route.seconds.observe(took.as_secs_f64());
            per_route
                .counts
                .entry((method, status))
                .or_insert_with(|| self.requests.with_label_values(&[route, method, status]))
                .inc();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    #[test]
    fn labels_come_from_fixed_sets() {
        let junk = Method::from_bytes(&b"X".repeat(10_000)).unwrap();
        assert_eq!(method_label(&junk), "other");
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(status_label(404), "404");
        assert_eq!(status_label(599), "other");
    }

    #[test]
    fn junk_requests_do_not_grow_the_label_set() {
        let m = Metrics::new().unwrap();
        for i in 0..1000 {
            let method = Method::from_bytes(format!("JUNK{i}").as_bytes()).unwrap();
            m.request(
                None,
                &method,
                400 + (i % 200) as u16,
                Duration::from_millis(1),
            );
        }
        let families = m.registry.gather();
        let requests = families
            .iter()
            .find(|f| f.name() == "keydesk_http_requests_total")
            .unwrap();
        // one route × one method label × at most the known codes + "other"
        assert!(
            requests.get_metric().len() <= 25,
            "{}",
            requests.get_metric().len()
        );
    }

    fn count(m: &Metrics, route: &str, status: &str) -> u64 {
        m.requests.with_label_values(&[route, "GET", status]).get()
    }

    #[test]
    fn resolved_handles_count_into_their_own_registry() {
        let (a, b) = (Metrics::new().unwrap(), Metrics::new().unwrap());
        let ok = Duration::from_millis(1);
        for _ in 0..3 {
            a.request(Some("/healthz"), &Method::GET, 200, ok);
        }
        b.request(Some("/healthz"), &Method::GET, 200, ok);
        a.request(Some("/healthz"), &Method::GET, 503, ok);
        a.request(None, &Method::GET, 404, ok);
        assert_eq!(count(&a, "/healthz", "200"), 3);
        assert_eq!(count(&a, "/healthz", "503"), 1);
        assert_eq!(count(&a, "unmatched", "404"), 1);
        assert_eq!(count(&b, "/healthz", "200"), 1);
        let seconds = a.request_seconds.with_label_values(&["/healthz"]);
        assert_eq!(seconds.get_sample_count(), 4);
    }

    #[test]
    fn verification_outcomes_line_up_with_their_labels() {
        use crate::domain::AuthFailure;
        use crate::metrics::{OUTCOMES, Verified};
        assert_eq!(OUTCOMES[Verified::Ok.index()], "ok");
        assert_eq!(OUTCOMES[Verified::Unavailable.index()], "unavailable");
        for f in AuthFailure::ALL {
            assert_eq!(OUTCOMES[Verified::Refused(f).index()], f.as_str());
        }
        assert_eq!(OUTCOMES.len(), AuthFailure::ALL.len() + 2);
    }
}
