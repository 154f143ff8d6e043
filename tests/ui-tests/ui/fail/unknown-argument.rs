use instrument_metric::instrument_metric;

#[instrument_metric(name = "jobs", timeout = 5)]
fn job() {}

fn main() {
    job();
}
