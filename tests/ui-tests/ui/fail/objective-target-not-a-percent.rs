use instrument_metric::instrument_metric;

#[instrument_metric(name = "orders_place", objective(success = 100, latency = (0.25, 0.99)))]
fn place() {}

#[instrument_metric(name = "orders_cancel", objective(name = "cancels"))]
fn cancel() {}

fn main() {
    place();
    cancel();
}
