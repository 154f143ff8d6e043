use metrics_runtime::instrument_metric;

trait Sender {
    #[instrument_metric]
    fn send(&self, to: &str) -> bool;
}

fn main() {}
