use metrics_runtime::{IntCounter, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    /// Messages sent.
    sent: IntCounter,
}

fn main() {}
