use instrument_metric::instrument_metric;

#[instrument_metric(function = "")]
fn send() {}

fn main() {
    send();
}
