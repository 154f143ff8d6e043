use instrument_metric::instrument_metric;

#[instrument_metric(name = "cache_lookups", ok_if = Option::is_some, error_if = Option::is_none)]
fn lookup(key: u32) -> Option<u32> {
    Some(key)
}

fn main() {
    lookup(1);
}
