use instrument_metric::{LabelSet, LabelValue};

#[derive(Clone, Copy, LabelValue)]
enum Provider {
    Twilio,
    Vonage,
}

#[derive(LabelSet)]
struct Route {
    #[label(name = "provider")]
    primary: Provider,
    provider: Provider,
}

fn main() {}
