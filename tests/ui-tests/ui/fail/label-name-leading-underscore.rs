use instrument_metric::{LabelSet, LabelValue, instrument_metric};

#[derive(Clone, Copy, LabelValue)]
#[label(name = "_provider")]
enum Provider {
    Twilio,
    Vonage,
}

#[derive(LabelSet)]
struct Labels {
    _kind: Provider,
}

#[instrument_metric(name = "sms_send", labels(_region = "eu"))]
fn send() {}

fn main() {
    send();
}
