use instrument_metric::{IntGauge, Metrics, instrument_metric};

#[instrument_metric(name = "smsSend")]
fn send() {}

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    /// Messages waiting.
    queueDepth: IntGauge,
}

fn main() {
    send();
}
