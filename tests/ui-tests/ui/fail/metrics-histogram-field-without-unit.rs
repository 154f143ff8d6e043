use instrument_metric::{Histogram, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "queue")]
struct QueueMetrics {
    /// Messages taken per batch.
    batch_size: Histogram,
}

fn main() {}
