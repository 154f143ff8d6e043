use instrument_metric::instrument_metric;

#[instrument_metric(name = "http_requests", labels(path = path))]
fn handle(path: &str) -> usize {
    path.len()
}

fn main() {
    handle("/");
}
