use instrument_metric::Metrics;

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    /// Messages sent.
    sent_total: u64,
}

fn main() {}
