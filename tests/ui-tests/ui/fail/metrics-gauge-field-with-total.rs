use instrument_metric::{Gauge, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    /// Messages in the queue.
    queue_total: Gauge,
}

fn main() {}
