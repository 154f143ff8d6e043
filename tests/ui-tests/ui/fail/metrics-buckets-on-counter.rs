use instrument_metric::{IntCounter, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    /// Messages sent.
    #[metric(buckets = [1.0, 2.0])]
    sent_total: IntCounter,
}

fn main() {}
