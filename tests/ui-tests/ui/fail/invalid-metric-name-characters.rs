use instrument_metric::instrument_metric;

#[instrument_metric(name = "sms-send")]
fn send() {}

fn main() {
    send();
}
