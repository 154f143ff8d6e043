use metrics_runtime::{IntCounter, Metrics};

#[derive(Metrics)]
struct SmsMetrics(IntCounter);

fn main() {}
