use instrument_metric::instrument_metric;

#[instrument_metric(labels(provider = "twilio"))]
fn send() {}

fn main() {
    send();
}
