use instrument_metric::instrument_metric;

#[instrument_metric(counter = "sms_messages_total", histogram = "sms_latency")]
fn send() {}

fn main() {
    send();
}
