use instrument_metric::instrument_metric;

#[instrument_metric(name = "__sms_send")]
fn send() {}

fn main() {
    send();
}
