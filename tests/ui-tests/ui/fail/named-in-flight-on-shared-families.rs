use instrument_metric::instrument_metric;

#[instrument_metric(in_flight = "sms_sending")]
fn send() {}

fn main() {
    send();
}
