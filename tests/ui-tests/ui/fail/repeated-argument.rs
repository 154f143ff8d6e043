use metrics_runtime::instrument_metric;

#[instrument_metric(name = "jobs", name = "tasks")]
fn job() {}

fn main() {
    job();
}
