use instrument_metric::{Histogram, Metrics, instrument_metric};

#[instrument_metric(name = "sms_send", buckets = [-1.0, 0.0, 0.5, 1.0])]
fn send() {}

#[derive(Metrics)]
#[metrics(prefix = "db")]
struct DbMetrics {
    /// Time to run a query.
    #[metric(buckets = [-0.5, 0.1, 1.0])]
    query_duration_seconds: Histogram,
}

fn main() {
    send();
}
