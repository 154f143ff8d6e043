//! A library that knows nothing of `instrument-metric`: it records through the `metrics`
//! facade's macros only, as a third-party crate (a database driver, an HTTP client) does.
#![warn(missing_docs, unreachable_pub)]

use metrics::{Counter, Histogram, Unit};

/// Describes the library's metrics, as a library does at start-up (or never).
pub fn describe() {
    metrics::describe_counter!(
        "facade_lib.requests",
        "Requests handled, by route and status."
    );
    metrics::describe_gauge!("facade_lib.connections", Unit::Count, "Connections open.");
    metrics::describe_histogram!(
        "facade_lib.request.duration.seconds",
        Unit::Seconds,
        "Time to handle a request, in seconds."
    );
}

/// Describes the cache's counter: called after its first use.
pub fn describe_late() {
    metrics::describe_counter!("facade_lib.cache.hits", "Cache hits.");
}

/// Records one request: a counter by route and status, and its duration.
pub fn request(route: &'static str, status: u16, seconds: f64) {
    metrics::counter!("facade_lib.requests", "route" => route, "status" => status.to_string())
        .increment(1);
    metrics::histogram!("facade_lib.request.duration.seconds", "route" => route).record(seconds);
}

/// Sets the connections gauge.
pub fn connections(open: f64) {
    metrics::gauge!("facade_lib.connections").set(open);
}

/// Records a login of `user`: a label without bound, which the recorder's cap bounds.
pub fn login(user: &str) {
    metrics::counter!("facade_lib.logins", "user" => user.to_owned()).increment(1);
}

/// Records a payload's size in a histogram with a label without bound.
pub fn payload(user: &str, bytes: f64) {
    metrics::histogram!("facade_lib.payload.bytes", "user" => user.to_owned()).record(bytes);
}

/// Records under names and labels Prometheus cannot take.
pub fn invalid() {
    metrics::gauge!("__facade_lib_private").set(1.0);
    metrics::histogram!("facade_lib.batches_count").record(1.0);
    metrics::counter!("facade_lib.retries", "quantile" => "0.5").increment(1);
    metrics::counter!("facade_lib.retries", "attempt" => "1").increment(1);
    metrics::counter!("facade_lib.retries", "try" => "2").increment(1);
}

/// Records a counter named like a family the application declares itself.
pub fn conflicting() {
    metrics::counter!("facade_conflict_total").increment(7);
}

/// A cache that keeps its handle, as libraries usually do.
pub struct Cache {
    hits: Counter,
    sizes: Histogram,
}

impl Cache {
    /// Registers the handles once.
    #[must_use]
    pub fn new() -> Cache {
        Cache {
            hits: metrics::counter!("facade_lib.cache.hits"),
            sizes: metrics::histogram!("facade_lib.cache.entry.bytes"),
        }
    }

    /// One hit of an entry of `bytes`.
    pub fn hit(&self, bytes: f64) {
        self.hits.increment(1);
        self.sizes.record(bytes);
    }
}

impl Default for Cache {
    fn default() -> Cache {
        Cache::new()
    }
}
