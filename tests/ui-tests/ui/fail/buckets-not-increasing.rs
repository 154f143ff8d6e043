use instrument_metric::instrument_metric;

#[instrument_metric(name = "sms_send", buckets = [0.1, 0.5, 0.5, 0.2])]
fn send() {}

fn main() {
    send();
}
