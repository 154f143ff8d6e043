use instrument_metric::instrument_metric;

#[instrument_metric(name = "sms_send", native_histogram, native_histogram)]
fn send() {}

fn main() {
    send();
}
