use instrument_metric::instrument_metric;

const LIMIT: f64 = 2.0;

#[instrument_metric(name = "sms_send", buckets = [0.1, LIMIT])]
fn send() {}

fn main() {
    send();
}
