use instrument_metric::LabelValue;

#[derive(LabelValue)]
enum Provider {
    Twilio,
    Custom(String),
}

fn main() {}
