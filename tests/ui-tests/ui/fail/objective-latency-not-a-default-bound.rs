use instrument_metric::instrument_metric;

#[instrument_metric(name = "orders_place", objective(success = 99.9, latency = (0.3, 99.0)))]
fn place() {}

fn main() {
    place();
}
