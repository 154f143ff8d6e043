use instrument_metric::instrument_metric;

#[instrument_metric(name = "sms_send", labels(result = "sent"))]
fn send() {}

fn main() {
    send();
}
