use instrument_metric::instrument_metric;

#[instrument_metric(name = "sms_send", buckets = [0.0, 1e-10, 5e-10, 1e-9, 0.5])]
fn send() {}

fn main() {
    send();
}
