use instrument_metric::{LabelValue, instrument_metric};

#[derive(Clone, Copy, LabelValue)]
enum Provider {
    Twilio,
}

#[instrument_metric(labels(provider = provider))]
fn send(provider: Provider) -> usize {
    provider.index()
}

fn main() {
    send(Provider::Twilio);
}
