use instrument_metric::instrument_metric;

trait Sender {
    #[instrument_metric]
    fn send(&self, to: &str) -> bool;
}

fn main() {}
