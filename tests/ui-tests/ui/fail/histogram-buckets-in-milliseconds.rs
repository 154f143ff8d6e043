use instrument_metric::{Histogram, Metrics, instrument_metric};

#[instrument_metric(name = "sms_send", buckets = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000])]
fn send() {}

#[derive(Metrics)]
#[metrics(prefix = "db")]
struct DbMetrics {
    /// Time to run a query.
    #[metric(buckets = [1.0, 10.0, 100.0, 1000.0, 10000.0])]
    query_duration_seconds: Histogram,
}

fn main() {
    send();
}
