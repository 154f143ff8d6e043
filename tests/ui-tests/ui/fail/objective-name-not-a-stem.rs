use instrument_metric::instrument_metric;

#[instrument_metric(name = "orders_place", objective(name = "checkout #1", success = 99.9))]
fn place() {}

#[instrument_metric(name = "orders_cancel", objective(name = "{{ .Labels.job }}", success = 99.0))]
fn cancel() {}

#[instrument_metric(name = "orders_ship", objective(name = "region: eu", success = 99.0))]
fn ship() {}

#[instrument_metric(name = "orders_pay", objective(name = "", success = 99.0))]
fn pay() {}

fn main() {
    place();
    cancel();
    ship();
    pay();
}
