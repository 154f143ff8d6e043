use instrument_metric::{IntGauge, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "queue")]
struct QueueMetrics {
    /// Jobs waiting.
    #[metric(native_histogram)]
    depth: IntGauge,
}

fn main() {}
