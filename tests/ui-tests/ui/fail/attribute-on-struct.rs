use instrument_metric::instrument_metric;

#[instrument_metric]
struct Sender;

fn main() {}
