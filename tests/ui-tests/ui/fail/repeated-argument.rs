use instrument_metric::instrument_metric;

#[instrument_metric(name = "jobs", name = "tasks")]
fn job() {}

fn main() {
    job();
}
