use instrument_metric::instrument_metric;

#[instrument_metric(native_histogram)]
fn send() {}

fn main() {
    send();
}
