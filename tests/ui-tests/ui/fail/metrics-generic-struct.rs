use instrument_metric::{IntCounter, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics<T> {
    /// Messages sent.
    sent_total: IntCounter,
    marker: std::marker::PhantomData<T>,
}

fn main() {}
