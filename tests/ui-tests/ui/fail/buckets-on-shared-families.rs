use instrument_metric::instrument_metric;

#[instrument_metric(buckets = [0.1, 1.0])]
fn send() {}

fn main() {
    send();
}
