use instrument_metric::instrument_metric;

#[instrument_metric(name = "sms_send", help = "  ")]
fn send() {}

fn main() {
    send();
}
