//! `native_histogram` on a function's own histogram and on `Metrics` histogram fields, with and
//! without buckets, labelled or not.
use instrument_metric::{Histogram, HistogramFamily, LabelValue, Metrics, instrument_metric};

#[derive(Clone, Copy, LabelValue)]
enum Provider {
    Twilio,
    Vonage,
}

/// Sends one SMS.
#[instrument_metric(name = "sms_send", native_histogram, labels(provider = provider))]
async fn send(provider: Provider) -> Result<(), String> {
    let _ = provider;
    Ok(())
}

/// Resizes an image.
#[instrument_metric(name = "image_resize", native_histogram, buckets = [0.01, 0.1, 1.0])]
fn resize() {}

#[derive(Metrics)]
#[metrics(prefix = "upload")]
struct UploadMetrics {
    /// Sizes of uploads.
    #[metric(native_histogram, buckets = [1024.0, 1048576.0])]
    size_bytes: Histogram,
    /// Time to store an upload, by provider.
    #[metric(native_histogram)]
    store_duration_seconds: HistogramFamily<Provider>,
}

fn main() {
    resize();
    drop(send(Provider::Vonage));
    UploadMetrics::global().size_bytes.observe(2048.0);
    UploadMetrics::global()
        .store_duration_seconds
        .with(Provider::Twilio)
        .observe(0.5);
}
