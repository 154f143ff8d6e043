use instrument_metric::{LabelValue, instrument_metric};

#[instrument_metric(name = "sms_send", labels(provider = provider))]
fn send<P: LabelValue>(provider: P) -> usize {
    provider.index()
}

fn main() {}
