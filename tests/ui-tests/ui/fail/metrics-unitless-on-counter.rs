use instrument_metric::{IntCounter, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "queue")]
struct QueueMetrics {
    /// Messages taken.
    #[metric(unitless)]
    taken_total: IntCounter,
}

fn main() {}
