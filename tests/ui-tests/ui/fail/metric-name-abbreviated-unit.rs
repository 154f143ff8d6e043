use instrument_metric::{IntGauge, Metrics, instrument_metric};

#[instrument_metric(counter = "api_ms_budget_total", histogram = "api_call_seconds")]
fn call() {}

#[derive(Metrics)]
#[metrics(prefix = "disk")]
struct DiskMetrics {
    /// Data read, in bytes.
    read_b: IntGauge,
    /// Time since the last sync.
    #[metric(name = "disk_sync_age_H")]
    sync_age: IntGauge,
}

fn main() {
    call();
}
