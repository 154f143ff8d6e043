use instrument_metric::instrument_metric;

#[instrument_metric(counter = "sms_messages", histogram = "sms_duration_seconds")]
fn send() {}

fn main() {
    send();
}
