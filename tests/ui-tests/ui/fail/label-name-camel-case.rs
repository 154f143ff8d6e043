use instrument_metric::{LabelSet, LabelValue, instrument_metric};

#[derive(Clone, Copy, LabelValue)]
enum Method {
    Get,
    Post,
}

#[derive(LabelSet)]
struct Labels {
    httpMethod: Method,
}

#[instrument_metric(name = "api_call", labels(apiVersion = "v2"))]
fn call() {}

fn main() {
    call();
}
