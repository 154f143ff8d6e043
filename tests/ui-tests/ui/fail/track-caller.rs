use instrument_metric::instrument_metric;

/// Panics at the caller's line, or would.
#[track_caller]
#[instrument_metric]
fn checked(value: Option<u32>) -> u32 {
    value.expect("a value")
}

fn main() {
    checked(Some(1));
}
