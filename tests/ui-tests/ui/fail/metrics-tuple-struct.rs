use instrument_metric::{IntCounter, Metrics};

#[derive(Metrics)]
struct SmsMetrics(IntCounter);

fn main() {}
