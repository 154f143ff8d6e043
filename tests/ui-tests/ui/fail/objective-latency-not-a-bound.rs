use instrument_metric::instrument_metric;

#[instrument_metric(
    name = "orders_place",
    buckets = [0.1, 0.5, 1.0],
    objective(latency = (0.25, 99.0))
)]
fn place() {}

fn main() {
    place();
}
