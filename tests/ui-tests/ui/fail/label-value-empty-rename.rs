use instrument_metric::LabelValue;

#[derive(LabelValue)]
enum Provider {
    #[label(rename = "")]
    Unknown,
    Twilio,
}

fn main() {}
