mod rt {
    pub use instrument_metric::*;
}

#[rt::instrument_metric(crate = crate::rt, name = "renamed_calls")]
fn call() -> u8 {
    2
}

fn main() {
    assert_eq!(call(), 2);
    assert!(rt::render().contains("renamed_calls_total"));
}
