use instrument_metric::{Gauge, IntCounter, Metrics, instrument_metric};

#[instrument_metric(name = "job_minutes_spent")]
fn run_job() {}

#[derive(Metrics)]
#[metrics(prefix = "upload")]
struct UploadMetrics {
    /// Data uploaded.
    kilobytes_total: IntCounter,
    /// Room temperature.
    #[metric(name = "room_fahrenheit")]
    room: Gauge,
    /// Link speed.
    link_bits_per_second: Gauge,
}

fn main() {
    run_job();
}
