use instrument_metric::{IntCounter, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    /// Messages sent.
    #[metric(unit = "messages")]
    sent_total: IntCounter,
}

fn main() {}
