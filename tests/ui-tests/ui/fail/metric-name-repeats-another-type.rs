use instrument_metric::instrument_metric;

#[instrument_metric(counter = "queue_gauge_total", histogram = "queue_summary_seconds")]
fn enqueue() {}

fn main() {
    enqueue();
}
