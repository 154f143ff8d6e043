use instrument_metric::instrument_metric;

#[instrument_metric(name = "sms_send", buckets = [])]
fn send() {}

fn main() {
    send();
}
