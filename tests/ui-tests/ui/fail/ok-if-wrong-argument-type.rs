use instrument_metric::instrument_metric;

fn is_positive(value: &i64) -> bool {
    *value > 0
}

#[instrument_metric(name = "cache_lookups", ok_if = is_positive)]
fn lookup(key: u32) -> Option<u32> {
    Some(key)
}

fn main() {
    lookup(1);
}
