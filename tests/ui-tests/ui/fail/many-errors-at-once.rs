use instrument_metric::instrument_metric;

#[instrument_metric(
    counter = "sms_sent",
    histogram = "sms_latency_ms",
    labels(le = "x", provider = "a", provider = "b"),
    buckets = [1.0, 0.5],
    colour = "red"
)]
fn send() {}

fn main() {
    send();
}
