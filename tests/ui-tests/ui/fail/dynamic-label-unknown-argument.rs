use instrument_metric::{LabelValue, instrument_metric};

#[derive(Clone, Copy, LabelValue)]
enum Provider {
    Twilio,
}

#[instrument_metric(name = "sms_send", labels(provider = provder))]
fn send(provider: Provider) -> usize {
    provider.index()
}

fn main() {
    send(Provider::Twilio);
}
