use instrument_metric::{IntCounter, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "sms_")]
struct SmsMetrics {
    /// Messages sent.
    sent_total: IntCounter,
}

fn main() {}
