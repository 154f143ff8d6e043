use instrument_metric::instrument_metric;

#[instrument_metric(counter = "sms_messages_total")]
fn send() {}

fn main() {
    send();
}
