use instrument_metric::{IntCounterFamily, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "http")]
struct HttpMetrics {
    /// Requests by path.
    requests_total: IntCounterFamily<String>,
}

fn main() {}
