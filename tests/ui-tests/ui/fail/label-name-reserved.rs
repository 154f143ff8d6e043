use instrument_metric::instrument_metric;

#[instrument_metric(name = "sms_send", labels(le = "1"))]
fn send() {}

fn main() {
    send();
}
