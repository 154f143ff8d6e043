use instrument_metric::instrument_metric;

#[instrument_metric(name = "job:sms_send")]
fn send() {}

fn main() {
    send();
}
