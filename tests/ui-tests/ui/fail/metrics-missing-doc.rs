use instrument_metric::{IntCounter, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    sent_total: IntCounter,
}

fn main() {}
