use instrument_metric::{Histogram, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    /// Time to send a message.
    send_latency_ms: Histogram,
}

fn main() {}
