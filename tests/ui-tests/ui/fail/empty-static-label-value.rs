use instrument_metric::instrument_metric;

#[instrument_metric(name = "sms_send", labels(kind = ""))]
fn send() {}

fn main() {
    send();
}
