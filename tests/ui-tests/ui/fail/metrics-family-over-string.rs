use metrics_runtime::{IntCounterFamily, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "http")]
struct HttpMetrics {
    /// Requests by path.
    requests_total: IntCounterFamily<String>,
}

fn main() {}
