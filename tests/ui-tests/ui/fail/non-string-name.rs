use instrument_metric::instrument_metric;

#[instrument_metric(name = sms_send)]
fn send() {}

fn main() {
    send();
}
