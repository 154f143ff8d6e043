use instrument_metric::{LabelValue, instrument_metric};

#[derive(Clone, Copy, LabelValue)]
enum Provider {
    Twilio,
}

struct Message {
    provider: Provider,
    parts: u8,
}

#[instrument_metric(name = "sms_send", labels(provider = provider))]
fn send(Message { provider, parts }: Message) -> u8 {
    let _ = provider;
    parts
}

fn main() {
    send(Message {
        provider: Provider::Twilio,
        parts: 1,
    });
}
