use instrument_metric::{LabelSet, LabelValue};

#[derive(Clone, Copy, LabelValue)]
enum Level {
    P50,
    P99,
}

#[derive(LabelSet)]
struct Latency {
    quantile: Level,
}

fn main() {}
