use metrics_runtime::instrument_metric;

#[instrument_metric]
struct Sender;

fn main() {}
