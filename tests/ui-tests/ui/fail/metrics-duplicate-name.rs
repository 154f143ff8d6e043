use instrument_metric::{IntCounter, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    /// Messages sent.
    sent_total: IntCounter,
    /// Messages sent, again.
    #[metric(name = "sms_sent_total")]
    also_sent_total: IntCounter,
}

fn main() {}
