use instrument_metric::{IntCounter, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    /// Messages sent.
    sent: IntCounter,
}

fn main() {}
