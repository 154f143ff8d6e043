use instrument_metric::instrument_metric;

#[instrument_metric(name = "sms_sends_total")]
fn send() {}

fn main() {
    send();
}
