use instrument_metric::{Histogram, Metrics, instrument_metric};

#[instrument_metric(name = "nightly_backup", long_running)]
fn backup() {}

#[derive(Metrics)]
#[metrics(prefix = "backup")]
struct BackupMetrics {
    /// Time to back up the database.
    #[metric(long_running)]
    run_duration_seconds: Histogram,
}

fn main() {
    backup();
}
