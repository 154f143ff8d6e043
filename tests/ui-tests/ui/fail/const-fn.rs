use instrument_metric::instrument_metric;

#[instrument_metric]
const fn answer() -> u32 {
    42
}

fn main() {
    let _ = answer();
}
