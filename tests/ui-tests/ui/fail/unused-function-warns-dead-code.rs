//! The attribute keeps the function's spans and declares its call site inside its body, so an
//! instrumented function that nothing calls is still reported as dead code.
#![deny(dead_code)]

use instrument_metric::instrument_metric;

#[instrument_metric]
fn never_called() -> u32 {
    1
}

struct Repo;

impl Repo {
    #[instrument_metric]
    fn never_called_either(&self) -> u32 {
        2
    }
}

#[instrument_metric]
async fn never_awaited() -> u32 {
    3
}

fn main() {
    let _ = Repo;
}
