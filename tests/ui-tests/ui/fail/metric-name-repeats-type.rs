use instrument_metric::{Gauge, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    /// Messages waiting.
    queue_gauge: Gauge,
}

fn main() {
    SmsMetrics::global().queue_gauge.set(1.0);
}
