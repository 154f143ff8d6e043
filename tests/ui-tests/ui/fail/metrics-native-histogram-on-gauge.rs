use metrics_runtime::{IntGauge, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "queue")]
struct QueueMetrics {
    /// Jobs waiting.
    #[metric(native_histogram)]
    depth: IntGauge,
}

fn main() {}
