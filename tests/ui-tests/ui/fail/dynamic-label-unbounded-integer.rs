use instrument_metric::instrument_metric;

#[instrument_metric(name = "orders", labels(user = user_id))]
fn place_order(user_id: u64) -> u64 {
    user_id
}

fn main() {
    place_order(1);
}
